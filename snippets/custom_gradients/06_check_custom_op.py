"""Test a custom op twice: opcheck for the registrations, gradcheck for the formula."""
# guide: timeout=60

import math

import torch
from torch.autograd import gradcheck, gradgradcheck

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


def softplus_kernel(x: torch.Tensor) -> torch.Tensor:
    values = [math.log1p(math.exp(v)) for v in x.flatten().tolist()]
    return torch.tensor(values, dtype=x.dtype, device=x.device).reshape(x.shape)


def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
    ctx.save_for_backward(inputs[0])


def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    (x,) = ctx.saved_tensors
    return grad_output * torch.sigmoid(x)


def wrong_backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    (x,) = ctx.saved_tensors
    return grad_output * torch.exp(x)  # the derivative of exp, not of softplus


def make_op(name: str, backward_fn) -> object:
    @torch.library.custom_op(f"guide::{name}", mutates_args=())
    def op(x: torch.Tensor) -> torch.Tensor:
        return softplus_kernel(x)

    op.register_fake(lambda x: torch.empty_like(x))
    op.register_autograd(backward_fn, setup_context=setup_context)
    return op


softplus = make_op("softplus", backward)
wrong_softplus = make_op("wrong_softplus", wrong_backward)

torch.manual_seed(0)
x64 = torch.randn(2, 3, dtype=torch.float64).to(gradcheck_device).requires_grad_()

results = torch.library.opcheck(softplus, (x64,))
print("opcheck softplus:      ", results)
passes = gradcheck(softplus, (x64,)) and gradgradcheck(softplus, (x64,))
print("gradcheck and gradgradcheck softplus:", passes)

wrong_results = torch.library.opcheck(wrong_softplus, (x64,))
print("opcheck wrong_softplus:", wrong_results)
wrong_passes = gradcheck(wrong_softplus, (x64,), raise_exception=False)
print("gradcheck wrong_softplus:", wrong_passes)
# gradgradcheck checks the derivative of the backward, not the backward itself.
wrong_passes_twice = gradgradcheck(wrong_softplus, (x64,), raise_exception=False)
print("gradgradcheck wrong_softplus:", wrong_passes_twice)

tests_run = len(results)
assert set(results.values()) == {"SUCCESS"} and passes  # witness: both-pass
assert set(wrong_results.values()) == {"SUCCESS"}  # witness: opcheck-misses-math
assert not wrong_passes  # witness: gradcheck-catches-math
assert wrong_passes_twice  # witness: gradgradcheck-misses-first
assert tests_run == 4

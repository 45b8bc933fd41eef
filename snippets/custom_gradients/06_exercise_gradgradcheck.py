"""Exercise: a backward that passes gradcheck and still has a wrong second derivative."""

import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck
from torch.autograd.gradcheck import GradcheckError

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class SiLU(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * s * (1 + x * (1 - s))


class DetachedSiLU(SiLU):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x).detach()  # right value, but hidden from a second differentiation
        return grad_output * s * (1 + x * (1 - s))


def second_derivative(function, x: torch.Tensor) -> torch.Tensor:
    """d²f/dx² elementwise, by differentiating the gradient once more."""
    (grad,) = torch.autograd.grad(function(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    return second


torch.manual_seed(0)
x64 = torch.randn(4, dtype=torch.float64).to(gradcheck_device).requires_grad_()

for function in (SiLU, DetachedSiLU):
    first = gradcheck(function.apply, (x64,), raise_exception=False)
    try:
        second = gradgradcheck(function.apply, (x64,))
    except GradcheckError as error:
        second = str(error).splitlines()[0]
    print(f"{function.__name__:12} gradcheck: {first}  gradgradcheck: {second}")
    if function is DetachedSiLU:
        detached_first, detached_message = first, second

true_second = second_derivative(F.silu, x64)
detached_second = second_derivative(DetachedSiLU.apply, x64)
print("d2/dx2 of F.silu:      ", [round(v, 4) for v in true_second.tolist()])
print("d2/dx2 of DetachedSiLU:", [round(v, 4) for v in detached_second.tolist()])

silu_twice = gradcheck(SiLU.apply, (x64,)) and gradgradcheck(SiLU.apply, (x64,))
assert silu_twice  # witness: plain-ops-twice
assert detached_first and detached_message.startswith("Jacobian mismatch")  # witness: detach-caught
assert torch.allclose(second_derivative(SiLU.apply, x64), true_second)
assert not torch.allclose(detached_second, true_second)  # witness: detach-wrong-hessian

"""Test a custom op twice: opcheck for the registrations, gradcheck for the formula."""
# guide: timeout=60

import math
import re

import torch
import torch.autograd.forward_ad as fwAD
from torch._dynamo.utils import counters  # counters["frames"]: the frames Dynamo compiled
from torch._subclasses.fake_tensor import is_fake
from torch.autograd import gradcheck, gradgradcheck
from torch.autograd.gradcheck import GradcheckError

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


def backward_off_when_traced(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    """A probe: right in eager, doubled on tensors without data, as while being traced."""
    (x,) = ctx.saved_tensors
    traced = is_fake(grad_output)  # a fake tensor (wrapped for tracing): no data
    return grad_output * torch.sigmoid(x) * (2.0 if traced else 1.0)


fake_calls = []


def fake_without_last_dim(x: torch.Tensor) -> torch.Tensor:
    fake_calls.append(x.shape)
    return x.new_empty(x.shape[:-1])  # wrong: the real op keeps every dimension


def make_op(name: str, backward_fn, fake=lambda x: torch.empty_like(x)) -> object:
    @torch.library.custom_op(f"guide::{name}", mutates_args=())
    def op(x: torch.Tensor) -> torch.Tensor:
        return softplus_kernel(x)

    op.register_fake(fake)
    op.register_autograd(backward_fn, setup_context=setup_context)
    return op


# Op names are global to a process: run after the previous snippet, this silently replaces
# its op guide::softplus, kernel and registrations alike.
softplus = make_op("softplus", backward)
wrong_softplus = make_op("wrong_softplus", wrong_backward)
probe_softplus = make_op("probe_softplus", backward_off_when_traced)
bad_fake_softplus = make_op("bad_fake_softplus", backward, fake=fake_without_last_dim)

torch.manual_seed(0)
x64 = torch.randn(2, 3, dtype=torch.float64).to(gradcheck_device).requires_grad_()

frames_before = dict(counters["frames"])
results = torch.library.opcheck(softplus, (x64,))
no_dynamo = dict(counters["frames"]) == frames_before  # opcheck calls AOTAutograd directly
print("opcheck softplus:      ", results)
passes = gradcheck(softplus, (x64,)) and gradgradcheck(softplus, (x64,))
print("gradcheck and gradgradcheck softplus:", passes)
try:  # forward mode too: the op's forward-mode derivative is zero (see the previous snippet)
    gradcheck(softplus, (x64,), check_forward_ad=True)
    forward_ad_error = ""
except GradcheckError as error:
    forward_ad_error = str(error)
forward_ad_message = forward_ad_error.split("\n")[0]
analytical = forward_ad_error.partition("analytical:")[2].partition("]]")[0]  # the Jacobian
analytical_values = [float(value) for value in re.findall(r"\d+\.?\d*", analytical)]
print("gradcheck softplus, check_forward_ad=True:", forward_ad_message.split(" for ")[0])
with fwAD.dual_level():  # as gradcheck does: a detached input, given a tangent
    dual_out = softplus(fwAD.make_dual(x64.detach(), torch.ones_like(x64)))
    out_tangent = fwAD.unpack_dual(dual_out).tangent  # None: gradcheck counts it as zeros
print("  forward mode carries no tangent through the op:", out_tangent is None)

wrong_results = torch.library.opcheck(wrong_softplus, (x64,))
print("opcheck wrong_softplus:", wrong_results)
wrong_passes = gradcheck(wrong_softplus, (x64,), raise_exception=False)
print("gradcheck wrong_softplus:", wrong_passes)
# gradgradcheck checks the derivative of the backward, not the backward itself.
wrong_passes_twice = gradgradcheck(wrong_softplus, (x64,), raise_exception=False)
print("gradgradcheck wrong_softplus:", wrong_passes_twice)


def failures(results: dict) -> dict:
    """The tests that failed, each with the start of its error."""
    failed = {test: str(error) for test, error in results.items() if error != "SUCCESS"}
    return {test: error.split(". ")[0].split(": ")[0] for test, error in failed.items()}


# opcheck does compare eager and traced gradients, but only for inputs that require grad.
probe_results = torch.library.opcheck(probe_softplus, (x64,), raise_exception=False)
print("opcheck probe_softplus, failed:", failures(probe_results))
probe_no_grad = torch.library.opcheck(probe_softplus, (x64.detach(),), raise_exception=False)
print("the same without requires_grad, failed:", failures(probe_no_grad))


@torch.library.custom_op("guide::double_", mutates_args=())  # wrong: it does mutate x
def double_(x: torch.Tensor) -> torch.Tensor:
    x.mul_(2)
    return x.clone()


schema_results = torch.library.opcheck(
    double_, (x64.detach().clone(),), test_utils="test_schema", raise_exception=False
)
print("opcheck double_, failed:", failures(schema_results))

# The other way round: gradcheck never calls the fake function, so it misses a wrong one.
bad_fake_passes = gradcheck(bad_fake_softplus, (x64,))
fake_calls_in_gradcheck = len(fake_calls)
bad_fake_results = torch.library.opcheck(
    bad_fake_softplus, (x64,), test_utils="test_faketensor", raise_exception=False
)
print("gradcheck bad_fake_softplus:", bad_fake_passes, "- fake calls:", fake_calls_in_gradcheck)
print("opcheck bad_fake_softplus, failed:", failures(bad_fake_results))

tests_run = len(results)
expected_tests = {"test_schema", "test_faketensor", "test_autograd_registration"}
expected_tests.add("test_aot_dispatch_dynamic")  # AOTAutograd with dynamic shapes
schema_failed = failures(schema_results)  # test_schema runs the op and checks what it mutated
schema_caught = schema_failed.get("test_schema", "").startswith("Argument x is not defined as mut")
assert set(results) == expected_tests  # witness: opcheck-tests
assert schema_caught  # witness: schema-catches-mutation
assert set(results.values()) == {"SUCCESS"} and passes  # witness: both-pass
assert set(wrong_results.values()) == {"SUCCESS"}  # witness: opcheck-misses-math
assert no_dynamo  # witness: opcheck-no-dynamo
assert not wrong_passes  # witness: gradcheck-catches-math
forward_caught = forward_ad_message.startswith("Jacobian computed with forward mode mismatch")
analytical_zeros = len(analytical_values) == x64.numel() ** 2 and not any(analytical_values)
forward_caught &= analytical_zeros  # gradcheck's Jacobian of the op in forward mode: all zeros
assert passes and forward_caught and out_tangent is None  # witness: gradcheck-forward-ad
assert wrong_passes_twice  # witness: gradgradcheck-misses-first
probe_failed = failures(probe_results)
probe_caught = probe_failed.get("test_aot_dispatch_dynamic", "").startswith("Gradients of the")
assert probe_caught and not failures(probe_no_grad)  # witness: opcheck-compares-gradients
fake_caught = list(failures(bad_fake_results)) == ["test_faketensor"]
fake_never_called = fake_calls_in_gradcheck == 0
assert bad_fake_passes and fake_never_called and fake_caught  # witness: gradcheck-misses-fake
assert tests_run == 4

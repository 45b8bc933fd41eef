"""gradcheck compares a custom backward with finite differences; run it in float64."""

import warnings

import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck
from torch.autograd.gradcheck import GradcheckError

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class SiLU(torch.autograd.Function):
    """x * sigmoid(x), with its derivative written by hand."""

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


class WrongSiLU(SiLU):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)  # forgot the product rule


class RoundSTE(torch.autograd.Function):
    """The straight-through rounding of the first example."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


torch.manual_seed(0)
x64 = torch.randn(3, dtype=torch.float64).to(gradcheck_device).requires_grad_()

passes = gradcheck(SiLU.apply, (x64,))
passes_twice = gradgradcheck(SiLU.apply, (x64,))  # backward differentiated once more
print("SiLU: gradcheck", passes, "gradgradcheck", passes_twice)

try:
    gradcheck(WrongSiLU.apply, (x64,))
except GradcheckError as error:
    wrong_message = str(error)
    print("WrongSiLU:", wrong_message)
# gradgradcheck differentiates WrongSiLU's backward as written: it never compares that backward
# with the derivative of forward, so the wrong first derivative goes through.
wrong_passes_twice = gradgradcheck(WrongSiLU.apply, (x64,))

# A straight-through estimator fails too: its backward is deliberately not the derivative.
ste_passes = gradcheck(RoundSTE.apply, (x64,), raise_exception=False)
print("straight-through rounding passes gradcheck:", ste_passes)

# In float32 the finite differences are too coarse: even PyTorch's own silu is rejected.
x32 = x64.detach().float().requires_grad_()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    float32_passes = gradcheck(F.silu, (x32,), raise_exception=False)
    # 3x computed in float64 is exact: only the input's own rounding can make this fail.
    inputs_seen = []

    def times_three(x: torch.Tensor) -> torch.Tensor:
        inputs_seen.append(x.detach().double())  # the inputs gradcheck really passes
        return x.double() * 3.0

    exact_passes = gradcheck(times_three, (x32,), raise_exception=False)
    moved = torch.stack(inputs_seen)  # x32 itself, then each element at -1e-6 and at +1e-6
    near_zero = torch.tensor([1e-3, -2e-3, 5e-4]).to(gradcheck_device).requires_grad_()
    near_zero_passes = gradcheck(times_three, (near_zero,), raise_exception=False)
float32_warning = str(caught[0].message)
print("F.silu in float32 passes gradcheck:", float32_passes)
print("warning:", float32_warning.split(". ")[0])
print("exact 3x of a float32 input passes gradcheck:", exact_passes)
print("the same 3x of float32 inputs near zero passes:", near_zero_passes)
# gradcheck moves each element to x - 1e-6 and x + 1e-6, rounded to the input's dtype, and
# divides the change in the output by the 2e-6 it asked for (a central difference).
step_ratio = (moved.amax(0) - moved.amin(0)) / 2e-6  # step taken / step asked for, per element
step_error_percent = round(100 * (step_ratio - 1).abs().max().item(), 1)
print("derivative of 3x from those steps:", [round(3 * r, 4) for r in step_ratio.tolist()])
print(f"float32 step taken is off from 1e-6 by up to {step_error_percent}%")

offsets = moved - x32.detach().double()  # how far gradcheck moved each input it passed
steps = [(row.nonzero().flatten().tolist(), int(row.sum().sign())) for row in offsets if row.any()]
each_both_ways = steps == [([i], sign) for i in range(len(x32)) for sign in (-1, 1)]
assert each_both_ways  # witness: perturbs-each-element
assert passes and passes_twice  # witness: correct-passes
assert wrong_message.startswith("Jacobian mismatch")  # witness: wrong-caught
assert wrong_passes_twice  # witness: gradgradcheck-misses-first
numerical_first = wrong_message.index("numerical") < wrong_message.index("analytical")
assert numerical_first  # witness: numerical-first
assert not ste_passes  # witness: ste-fails-gradcheck
assert not float32_passes  # witness: float32-fails-builtin
# The numerical derivative of an exact 3x is 3 x step_ratio: outside gradcheck's tolerance here.
ratio_explains = ((3 * step_ratio - 3).abs() > 1e-5 + 1e-3 * 3).any()  # atol + rtol * 3
assert not exact_passes and ratio_explains and near_zero_passes  # witness: float32-step-rounded
near_moved = torch.stack(inputs_seen[len(moved) :])  # the inputs of the near-zero check
near_ratio = (near_moved.amax(0) - near_moved.amin(0)) / 2e-6
assert (near_ratio - 1).abs().max() < 1e-3  # witness: near-zero-step-exact
assert "not a double precision" in float32_warning  # witness: float32-warns

"""gradcheck for custom backward code: finite differences in float64 catch a wrong derivative.

Needs extra_checks.py and module_check.py in the same folder.
"""

import inspect
import warnings

import torch
from extra_checks import check_gradients
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class SiLUFunction(torch.autograd.Function):
    """x * sigmoid(x), with a hand-written backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * (s + x * s * (1 - s))  # product rule: both terms


class ForgotProductRule(SiLUFunction):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)  # the bug: only the first term


class CustomSiLU(nn.Module):
    """A linear layer followed by the custom activation."""

    function = SiLUFunction

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function.apply(self.linear(x))


class BrokenSiLU(CustomSiLU):
    function = ForgotProductRule


def failure(function, *args, **kwargs) -> str:
    try:
        function(*args, **kwargs)
    except (AssertionError, RuntimeError) as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return "passes"


# gradcheck itself, on the functions: inputs in float64.
torch.manual_seed(0)
x64 = torch.randn(4, 3, dtype=torch.float64).to(gradcheck_device).requires_grad_()
correct = failure(torch.autograd.gradcheck, SiLUFunction.apply, (x64,))
wrong = failure(torch.autograd.gradcheck, ForgotProductRule.apply, (x64,))
error_message = wrong.removeprefix("GradcheckError: ")
print("SiLUFunction in float64:     ", correct)
print("ForgotProductRule in float64:", wrong)

# gradcheck's defaults assume float64: a step eps of 1e-6, while float32 rounds each value by up
# to about 6e-8 of its size. That is a sizeable fraction of the step (about 6% near 1, more for
# larger values), enough that even the correct backward fails (with a warning that says so).
defaults = inspect.signature(torch.autograd.gradcheck).parameters
default_eps, default_atol, default_rtol = (defaults[k].default for k in ("eps", "atol", "rtol"))
float32_eps = torch.finfo(torch.float32).eps
x32 = x64.detach().float().requires_grad_()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    correct_in_float32 = failure(torch.autograd.gradcheck, SiLUFunction.apply, (x32,))
    # A larger step and looser tolerances pass it, and still catch this bug, but only errors
    # larger than those tolerances.
    coarse = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-2}
    correct_coarse = failure(torch.autograd.gradcheck, SiLUFunction.apply, (x32,), **coarse)
    wrong_coarse = failure(torch.autograd.gradcheck, ForgotProductRule.apply, (x32,), **coarse)
print(f"gradcheck defaults: eps={default_eps}, atol={default_atol}, rtol={default_rtol}")
print("SiLUFunction in float32:     ", correct_in_float32)
print("    warning:", str(caught[0].message).split(". ")[0])
print(f"with {coarse}: SiLUFunction {correct_coarse}, ForgotProductRule {wrong_coarse}")


def drift(x: torch.Tensor) -> float:
    """Central differences with gradcheck's step, against the exact derivative of x * sigmoid(x):
    the worst error, in units of gradcheck's allowance atol + rtol * |derivative|."""
    with torch.no_grad():
        difference = SiLUFunction.apply(x + default_eps) - SiLUFunction.apply(x - default_eps)
        numerical = difference / (2 * default_eps)
        s = torch.sigmoid(x)
        exact = s + x * s * (1 - s)
        allowance = default_atol + default_rtol * exact.abs()
        return float(((numerical - exact).abs() / allowance).max())


drift32, drift64 = drift(x32.detach()), drift(x64.detach())
print(f"finite differences, worst error / tolerance: float32 {drift32:.0f}, float64 {drift64:.0e}")

# In a module: check_module sees gradients everywhere and passes; check_gradients does not.
torch.manual_seed(0)
broken = BrokenSiLU().to(device)
checks_passed = len(check_module(broken, (4, 5), (4, 3)).checks)
print(f"check_module on BrokenSiLU: {checks_passed} checks passed")
correct_layer = check_gradients(CustomSiLU().to(device), (4, 5), device=gradcheck_device)
print(correct_layer)
helper_failure = failure(check_gradients, broken, (4, 5), device=gradcheck_device)
helper_message = helper_failure.removeprefix("AssertionError: ")
print(helper_message)


class TrainOnlyBroken(CustomSiLU):
    """Uses the broken backward in training mode only, as training-time custom code often does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        function = ForgotProductRule if self.training else SiLUFunction
        return function.apply(self.linear(x))


# check_gradients checks eval mode by default; the training-mode path needs training=True.
train_only = TrainOnlyBroken().to(device)
eval_path = failure(check_gradients, train_only, (4, 5), device=gradcheck_device)
train_path = failure(check_gradients, train_only, (4, 5), training=True, device=gradcheck_device)
print(f"TrainOnlyBroken: eval mode {eval_path}; training mode {train_path}")
# training=True calls train() on the copy: a part frozen with eval() runs in training mode too.
frozen = nn.Sequential(TrainOnlyBroken()).to(device)
frozen[0].eval()
frozen_path = failure(check_gradients, frozen, (4, 5), training=True, device=gradcheck_device)
print("frozen with eval(), training=True:", frozen_path.split(" (")[0])

# gradcheck stops at the first input that mismatches, and its mismatch message numbers only the
# inputs that require a gradient. With x passed but not requiring a gradient, its "input 0" is the
# linear layer's weight, wrong too.
broken64 = BrokenSiLU().to(gradcheck_device, torch.float64)
names = [n for n, _ in broken64.named_parameters()]
values = [p.detach().clone().requires_grad_() for p in broken64.parameters()]
x_fixed = torch.randn(4, 5, dtype=torch.float64).to(gradcheck_device)  # requires no gradient


def of_parameters(inputs: torch.Tensor, *parameters: torch.Tensor) -> torch.Tensor:
    return torch.func.functional_call(broken64, dict(zip(names, parameters)), (inputs,))


without_input, without_input_fast = (
    failure(torch.autograd.gradcheck, of_parameters, (x_fixed, *values), fast_mode=fast).rstrip(",")
    for fast in (False, True)
)
print(f"input not requiring a gradient: {without_input}; input 0 is now {names[0]}")


def whole_message(fast_mode: bool) -> str:
    """gradcheck's whole message, not only its first line, with the input requiring a gradient
    too: input and weight are both wrong."""
    x_graded = x_fixed.clone().requires_grad_()
    try:
        torch.autograd.gradcheck(of_parameters, (x_graded, *values), fast_mode=fast_mode)
    except RuntimeError as error:  # GradcheckError is a RuntimeError
        return str(error)
    return "passes"


whole_messages = [whole_message(fast_mode) for fast_mode in (True, False)]
mismatches = [m.count("mismatch for output") for m in whole_messages]
print("input and weight both wrong, mismatches in the whole message (fast, slow):", mismatches)

# Fast mode compares random projections of the derivatives, not every entry: it runs the module
# far fewer times. A hook counts the passes (the helper's deepcopy keeps it).
counted = CustomSiLU().to(device)
passes = []
counted.register_forward_pre_hook(lambda module, args: passes.append(1))
check_gradients(counted, (4, 5), device=gradcheck_device)
fast_passes = len(passes)
check_gradients(counted, (4, 5), fast_mode=False, device=gradcheck_device)
full_passes = len(passes) - fast_passes
print(f"passes through the module: fast mode {fast_passes}, every entry {full_passes}")

assert correct == "passes"  # witness: correct-passes
assert error_message.startswith("Jacobian mismatch for output 0 with respect to input 0")
float32_drifts = drift32 > 10 and drift64 < 1  # far outside in float32, within in float64
fails_in_float32 = correct_in_float32.startswith("GradcheckError: Jacobian mismatch")
assert float32_drifts and fails_in_float32  # witness: float32-fails
assert "not of double precision" in str(caught[0].message)  # witness: float32-warns
assert (default_eps, default_atol, default_rtol) == (1e-6, 1e-5, 1e-3)
assert correct_coarse == "passes" and wrong_coarse.startswith(  # witness: float32-coarse-step
    "GradcheckError: Jacobian mismatch"
)
assert checks_passed == 5  # witness: check-module-misses
assert correct_layer.startswith("CustomSiLU: gradients match")  # witness: helper-passes-correct
assert helper_failure.startswith(  # witness: helper-catches
    "AssertionError: BrokenSiLU: wrong gradient for the input (gradcheck: Jacobian mismatch"
)
assert eval_path == "passes" and "wrong gradient" in train_path  # witness: eval-mode-default
frozen_trained = "wrong gradient" in frozen_path and not frozen[0].training
assert frozen_trained  # witness: training-overrides-frozen
at_0 = [m.endswith("with respect to input 0") for m in (without_input, without_input_fast)]
weight_flagged = all(at_0) and names[0] == "linear.weight"  # in slow and in fast mode
assert weight_flagged and "weight" not in helper_message  # witness: numbers-graded-inputs
first = "Jacobian mismatch for output 0 with respect to input 0,"
at_input = all(m.startswith(first) for m in whole_messages)
assert mismatches == [1, 1] and at_input and weight_flagged  # witness: stops-at-first
assert fast_passes * 5 < full_passes  # witness: fast-mode-fewer-passes

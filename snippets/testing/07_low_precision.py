"""A low-precision smoke test: the bfloat16 forward pass keeps its dtype and stays near float32.

Needs extra_checks.py and module_check.py in the same folder.
"""

import copy
import inspect
import math

import torch
from extra_checks import check_gradients, check_low_precision
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Float32RMSNorm(nn.Module):
    """RMS normalization, computed in float32 for accuracy and never cast back: the bug."""

    def __init__(self, features: int = 8, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(features))
        self.eps = eps

    def normalized(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        return x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * self.normalized(x)  # bfloat16 weight * float32 -> float32


class RMSNorm(Float32RMSNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * self.normalized(x).to(x.dtype)  # the fix: back to the input's dtype


def outcome(check, *args, **kwargs) -> str:
    try:
        return check(*args, **kwargs)
    except (AssertionError, RuntimeError) as error:
        return f"{type(error).__name__}: {error}"


torch.manual_seed(0)
buggy = outcome(check_low_precision, Float32RMSNorm().to(device), input_shape=(4, 8))
print(buggy)
fixed = outcome(check_low_precision, RMSNorm().to(device), input_shape=(4, 8))
print(fixed)

# What the wrong dtype does next: the following layer, in bfloat16, refuses a float32 input.
model = nn.Sequential(nn.Linear(5, 8), Float32RMSNorm(), nn.Linear(8, 3)).to(device)
try:
    model.to(torch.bfloat16)(torch.randn(4, 5).to(device, torch.bfloat16))
    next_layer = "no error"
except RuntimeError as error:
    next_layer = f"RuntimeError: {error}"
print("bfloat16 model with Float32RMSNorm ->", next_layer)
# Under autocast the model stays in float32, the norm's weight with it: the first linear layer
# gives the norm a bfloat16 input, both norms return float32, and the next linear layer casts its
# own input.


def under_autocast(norm: type[nn.Module]) -> tuple[torch.dtype, torch.dtype, torch.dtype]:
    """The norm's input and output dtypes (a hook records them) and the model's, under autocast."""
    float32_model = nn.Sequential(nn.Linear(5, 8), norm(), nn.Linear(8, 3)).to(device)
    seen = []
    float32_model[1].register_forward_hook(
        lambda module, args, out: seen.append((args[0].dtype, out.dtype))
    )
    with torch.autocast(device.type, dtype=torch.bfloat16):
        model_dtype = float32_model(torch.randn(4, 5).to(device)).dtype
    return *seen[0], model_dtype


buggy_under_autocast = under_autocast(Float32RMSNorm)
with torch.random.fork_rng(devices=[]):  # the CPU's random state is restored: later draws unchanged
    fixed_under_autocast = under_autocast(RMSNorm)
# With a bfloat16 weight, on a bfloat16 input too, the fixed norm returns bfloat16 and the
# buggy one still float32 (its .float()): the fixed one returned float32 for its weight alone.
bfloat16_ones = torch.ones(4, 8, device=device, dtype=torch.bfloat16)
with torch.autocast(device.type, dtype=torch.bfloat16):
    low_weight = {
        norm.__name__: norm().to(device, torch.bfloat16)(bfloat16_ones).dtype
        for norm in (Float32RMSNorm, RMSNorm)
    }
print(f"under autocast, norm input, output, model output: Float32RMSNorm {buggy_under_autocast},")
print(f"  RMSNorm {fixed_under_autocast}")
print("  with bfloat16 weights, the norms return:", low_weight)

# An honest tolerance: bfloat16 keeps 8 significant bits, so rounding a number in the normal range
# may change it by up to 2**-8 of its size, and a layer rounds many times. A float32-sized
# tolerance rejects it.
rounding_unit = torch.finfo(torch.bfloat16).eps / 2
float16_rounding_unit = torch.finfo(torch.float16).eps / 2  # finer: the default is loose there
tolerance_default = inspect.signature(check_low_precision).parameters["tolerance"].default
print(f"rounding unit: bfloat16 {rounding_unit}, float16 {float16_rounding_unit}", end=", ")
print(f"default tolerance: {tolerance_default}")
model = nn.Sequential(nn.Linear(5, 8), RMSNorm(), nn.GELU(), nn.Linear(8, 3)).to(device)
passes = outcome(check_low_precision, model, input_shape=(4, 5))
too_strict = outcome(check_low_precision, model, input_shape=(4, 5), tolerance=1e-5)
print(passes)
print(too_strict)
# Why the whole output, not each element: on 64 examples (here on the CPU), an output close to zero
# carries a large relative error of its own, though the model is correct.
x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0)).bfloat16()
with torch.no_grad():
    low = copy.deepcopy(model).to("cpu", torch.bfloat16)(x).float()
    reference = copy.deepcopy(model).cpu()(x.float())
elementwise = (low - reference).abs() / reference.abs()
worst_element = float(elementwise.max())
# where it lies, the float32 output is small: under a tenth of the median output's size
worst_reference = float(reference.flatten()[elementwise.argmax()].abs())
near_zero = worst_reference < 0.1 * float(reference.abs().median())
whole_output = float((low - reference).norm() / reference.norm())
above_default = int((elementwise > tolerance_default).sum())  # elements the default would fail
elements = elementwise.numel()
print(f"64 examples: relative error {whole_output:.4f}, of one element up to {worst_element:.3f}")
print(f"  elements above the default tolerance: {above_default} of {elements}")


class OneFeatureOff(nn.Module):
    """Exact, but for feature 0, which is 25% off in a low dtype: a bug in one of 512 features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.ones(x.shape[-1], dtype=x.dtype, device=x.device)
        scale[0] = 1.0 if x.dtype == torch.float32 else 1.25
        return x * scale


# One norm over the whole output dilutes it: about 0.25 / sqrt(512), under the default.
diluted = outcome(check_low_precision, OneFeatureOff(), (64, 512), device=device)
print(diluted)
# The same error computed here, on the check's input (seed 0), to more digits.
one_off = torch.randn(64, 512, generator=torch.Generator().manual_seed(0))
one_off = one_off.to(device, torch.bfloat16)
one_off_reference = OneFeatureOff()(one_off.float())
one_off_difference = OneFeatureOff()(one_off).float() - one_off_reference
diluted_error = float(one_off_difference.norm() / one_off_reference.norm())
print(f"  relative error {diluted_error:.3f}; 0.25 / sqrt(512) = {0.25 / math.sqrt(512):.3f}")
# Layers whose operations are exact in bfloat16 (selecting or moving values, or scaling by a power
# of two, as LeakyReLU(0.5) does) have nothing to round: exact even at tolerance 0, since the
# input is rounded to bfloat16 once, for both copies.
selecting = [nn.ReLU(), nn.Identity(), nn.MaxPool1d(2), nn.LeakyReLU(0.5)]
exact_reports = [
    outcome(check_low_precision, m, (4, 8), tolerance=0.0, device=device) for m in selecting
]
print(*exact_reports, sep="\n")
# A control: LeakyReLU(0.01) scales by a number that is not a power of two, which rounds.
inexact = outcome(check_low_precision, nn.LeakyReLU(0.01), (4, 8), tolerance=0.0, device=device)
print(inexact)
# An output that is zero in both dtypes (a zero-initialized last layer) is exact too.
zero_layer = nn.Linear(8, 3, bias=False).to(device)
nn.init.zeros_(zero_layer.weight)
zero_output = outcome(check_low_precision, zero_layer, (4, 8), tolerance=0.0)
print(zero_output)


class KeepsOutput(nn.Linear):
    """Keeps its last output, as some layers do for inspection."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last = super().forward(x)
        return self.last


# check_low_precision and check_gradients copy the module with copy.deepcopy, which refuses a
# tensor that belongs to a graph: the output kept by a pass with autograd recording. A pass under
# no_grad replaces it.
keeps = KeepsOutput(8, 3).to(device)
keeps(torch.randn(4, 8).to(device))
after_recorded_pass = outcome(check_low_precision, keeps, (4, 8))
gradients_after_recorded_pass = outcome(check_gradients, keeps, (4, 8))
module_checks = len(check_module(keeps, (4, 8), (4, 3)).checks)  # works on the module itself
with torch.no_grad():
    keeps(torch.randn(4, 8).to(device))
after_no_grad_pass = outcome(check_low_precision, keeps, (4, 8))
print("after a recorded pass:", after_recorded_pass.split(".")[0])
print("  check_gradients:", gradients_after_recorded_pass.split(".")[0])
print(f"  check_module: {module_checks} checks passed")
print("after a pass under no_grad:", after_no_grad_pass)

# bfloat16 keeps float32's exponent range, float16 does not: a tiny epsilon survives in bfloat16.
bfloat16_range, float32_range = torch.finfo(torch.bfloat16), torch.finfo(torch.float32)
same_range = bfloat16_range.smallest_normal == float32_range.smallest_normal
same_range = same_range and bfloat16_range.max > 0.99 * float32_range.max
print("bfloat16 has float32's exponent range:", same_range, end=" | ")
tiny = 1e-8
print(f"{tiny} in bfloat16:", torch.tensor(tiny, dtype=torch.bfloat16).item() > 0, end=" | ")
print("in float16:", torch.tensor(tiny, dtype=torch.float16).item() > 0)

message = buggy.removeprefix("AssertionError: ")
assert message == "Float32RMSNorm: output dtype torch.float32, expected torch.bfloat16"
# Why: the norm's weight is bfloat16, the normalized tensor float32, and their product float32.
low_norm = Float32RMSNorm().to(device, torch.bfloat16)
normalized = low_norm.normalized(torch.ones(4, 8, dtype=torch.bfloat16, device=device))
dtypes = (low_norm.weight.dtype, normalized.dtype, (low_norm.weight * normalized).dtype)
assert dtypes == (torch.bfloat16, torch.float32, torch.float32)  # witness: promotes
assert fixed.startswith("RMSNorm: torch.bfloat16 output within")  # witness: cast-back-passes
assert next_layer.startswith("RuntimeError") and "same dtype" in next_layer  # witness: next-fails
expected = (torch.bfloat16, torch.float32, torch.bfloat16)  # norm input, norm output, model output
indistinguishable = buggy_under_autocast == fixed_under_autocast == expected
weight_decides = low_weight == {"Float32RMSNorm": torch.float32, "RMSNorm": torch.bfloat16}
assert indistinguishable and weight_decides  # witness: autocast-hides
assert passes.startswith("Sequential: torch.bfloat16 output within 0.02")  # witness: honest-passes
assert rounding_unit == 2**-8 and float16_rounding_unit == 2**-11 and tolerance_default == 0.02
assert too_strict.startswith("AssertionError: Sequential: relative error")  # witness: strict-fails
exact = all(r.endswith("(relative error 0e+00)") for r in exact_reports)
assert exact and inexact.startswith(  # witness: selecting-exact
    "AssertionError: LeakyReLU: relative error"
)
assert zero_output.endswith("(relative error 0e+00)")  # witness: zero-output-passes
too_strict_elementwise = whole_output <= tolerance_default < worst_element and near_zero
assert too_strict_elementwise  # witness: elementwise-too-strict
diluted_passes = diluted.startswith("OneFeatureOff: torch.bfloat16 output within")
diluted_seen = diluted.endswith(f"(relative error {diluted_error:.0e})")  # there, and small
near_estimate = math.isclose(diluted_error, 0.25 / math.sqrt(512), rel_tol=0.1)
assert diluted_passes and diluted_seen and near_estimate  # witness: diluted
assert module_checks == 5  # witness: check-module-keeps-output
graph_leaves_only = "RuntimeError: Only Tensors created explicitly by the user"
deepcopy_refused = after_recorded_pass.startswith(graph_leaves_only)
assert gradients_after_recorded_pass.startswith(graph_leaves_only)  # witness: gradients-deepcopy
assert deepcopy_refused and after_no_grad_pass.startswith(  # witness: deepcopy-refuses-graph
    "KeepsOutput: torch.bfloat16 output within"
)
tiny_survives = torch.tensor(tiny, dtype=torch.bfloat16).item() > 0
assert same_range and tiny_survives  # witness: bf16-keeps-range
assert torch.tensor(tiny, dtype=torch.float16).item() == 0.0  # witness: fp16-underflows
zero_row = torch.zeros(3, dtype=torch.float16)  # a row whose norm is 0
denominator = zero_row.norm() + tiny  # a Python float, as code writes it: rounded to float16
divided = zero_row / denominator
bf16_row = zero_row.bfloat16()
bf16_divided = bf16_row / (bf16_row.norm() + tiny)
print("row of zeros / (norm + 1e-8): float16", divided.tolist(), "bfloat16", bf16_divided.tolist())
fp16_zero_over_zero = denominator.item() == 0.0 and divided.isnan().all()
bf16_zeros = bool((bf16_divided == 0).all())
assert fp16_zero_over_zero and bf16_zeros  # witness: fp16-divides-by-zero

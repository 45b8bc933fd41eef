"""Exercise: a softmax written by hand passes in bfloat16 and overflows in float16; subtracting
the row's maximum first fixes it, and the helper's input decides whether the check sees the bug.

Needs extra_checks.py in the same folder.
"""

import math

import torch
from extra_checks import _random_input, check_low_precision
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class SharpSoftmax(nn.Module):
    """softmax(x / temperature) over the last dimension, written out by hand."""

    def __init__(self, temperature: float = 0.125) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = (x / self.temperature).exp()  # the bug: exp of a large logit overflows
        return e / e.sum(dim=-1, keepdim=True)


class StableSharpSoftmax(SharpSoftmax):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x / self.temperature
        e = (z - z.amax(dim=-1, keepdim=True)).exp()  # the fix: the largest exponent is 0
        return e / e.sum(dim=-1, keepdim=True)


class LibrarySharpSoftmax(SharpSoftmax):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softmax(x / self.temperature, dim=-1)


def outcome(module: nn.Module, dtype: torch.dtype) -> str:
    tolerance = 4e-3 if dtype == torch.float16 else 2e-2  # float16: 8 of its rounding units
    try:
        return check_low_precision(module, (4, 8), dtype=dtype, tolerance=tolerance, device=device)
    except AssertionError as error:
        return f"AssertionError: {error}"


dtypes = (torch.bfloat16, torch.float16)
naive = [outcome(SharpSoftmax(), dtype) for dtype in dtypes]
stable = [outcome(StableSharpSoftmax(), dtype) for dtype in dtypes]
library = [outcome(LibrarySharpSoftmax(), dtype) for dtype in dtypes]
print(*naive, *stable, *library, sep="\n")

# Why: float16's largest value is 65504, so exp overflows above log(65504): the float16 just
# above it gives infinity, the one just below a finite value.
float16_max = torch.finfo(torch.float16).max
overflow_at = math.log(float16_max)
just_above = torch.tensor(overflow_at, dtype=torch.float16)  # rounds up, to 11.09375
just_below = torch.nextafter(just_above, torch.tensor(0.0, dtype=torch.float16))
below, above = torch.stack([just_below, just_above]).to(device).exp().tolist()
print(f"float16 max {float16_max}: exp overflows above {overflow_at:.2f}", end=": ")
print(f"exp({just_below.item()}) = {below}, exp({just_above.item()}) = {above}")
# On the helper's input, the layer's NaNs sit where exp gave infinity: infinity / infinity.
x = _random_input((4, 8), seed=0).to(device, torch.float16)  # the check's input, seed 0
e = (x / 0.125).exp()
row_sum = e.sum(dim=-1)
naive_out = SharpSoftmax().to(device, torch.float16)(x)
print("infinite exps per row:", torch.isinf(e).sum(-1).tolist(), end=", ")
print("NaNs per row:", torch.isnan(naive_out).sum(-1).tolist())

# The check sees the bug only if its input makes something overflow. The helper's input gives
# logits up to 14.8 at temperature 0.125, 7.4 at 0.25.
largest_sharp, largest_milder = float(x.max() / 0.125), float(x.max() / 0.25)
print(f"largest logit of the helper's input: {largest_sharp:.1f} at 0.125", end=", ")
print(f"{largest_milder:.1f} at 0.25")
milder = outcome(SharpSoftmax(temperature=0.25), torch.float16)
print(milder)
# In float16, exp(x / temperature) overflows for inputs above log(65504) * temperature.
sharp_threshold, milder_threshold = overflow_at * 0.125, overflow_at * 0.25
print(f"exp overflows above an input of {sharp_threshold:.2f} at 0.125", end=", ")
print(f"{milder_threshold:.2f} at 0.25")
# float16 inputs just below and just above each threshold: exp stays finite, then overflows
around = [
    (t, threshold + d)
    for t, threshold in ((0.125, sharp_threshold), (0.25, milder_threshold))
    for d in (-0.01, 0.01)
]
exps_around = [(torch.tensor(v).to(device, torch.float16) / t).exp().item() for t, v in around]
threes = torch.full((1, 8), 3.0, dtype=torch.float16, device=device)  # logits of 12
milder_on_threes = SharpSoftmax(temperature=0.25)(threes)
print("temperature 0.25 on an input of 3s:", milder_on_threes[0, :2].tolist(), "...")
# The row's sum overflows first: logits of 10 have finite exps, but eight of them add up past it.
x_2_5 = torch.full((1, 8), 2.5, dtype=torch.float16, device=device)  # logits of 10
e_2_5 = (x_2_5 / 0.25).exp()
out_2_5 = SharpSoftmax(temperature=0.25)(x_2_5)
reference_2_5 = SharpSoftmax(temperature=0.25)(x_2_5.float())
float32_value = reference_2_5[0, 0].item()
print(f"input of 2.5s: largest exp {e_2_5.max().item()}, sum {e_2_5.sum().item()}", end=", ")
print(f"output {out_2_5[0, :2].tolist()} ... ({float32_value:.3f} in float32)")


class ShiftedInput(nn.Module):
    """Runs a module on 2.5 + x / 100: the helper's input moved to logits near 10 at 0.25."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(2.5 + x / 100)


# All zeros are finite: only the comparison with float32 catches them, a relative error of 1.
near_2_5 = outcome(ShiftedInput(SharpSoftmax(temperature=0.25)), torch.float16)
print(near_2_5)

passes = "output within"
naive_bf16_passes = passes in naive[0]
naive_fp16_nan = naive[1].endswith("SharpSoftmax: NaN or infinity in the torch.float16 output")
assert naive_bf16_passes and naive_fp16_nan  # witness: bf16-passes-fp16-fails
assert float16_max == 65504.0
# compared as Python floats: a float16 tensor would round overflow_at to float16 first
brackets = just_below.item() < overflow_at < just_above.item()
neighbours = brackets and math.isfinite(below) and math.isinf(above)
nan_where_inf = torch.equal(torch.isnan(naive_out), torch.isinf(e))
sum_inf = torch.equal(torch.isinf(row_sum), torch.isinf(e).any(dim=-1))
assert neighbours and nan_where_inf and sum_inf  # witness: overflow-makes-nan
assert all(passes in r for r in stable + library)  # witness: stable-passes
reaches = largest_sharp > overflow_at > largest_milder
milder_passes = passes in milder and bool(torch.isnan(milder_on_threes).all())
assert reaches and milder_passes  # witness: input-decides
overflows_above = [math.isinf(e) for e in exps_around] == [False, True, False, True]
assert overflows_above and 1.38 < sharp_threshold < milder_threshold < 2.78  # witness: thresholds
exps_finite = bool(torch.isfinite(e_2_5).all()) and bool(torch.isinf(e_2_5.sum()))
zeros = bool((out_2_5 == 0).all()) and math.isclose(float32_value, 1 / 8, rel_tol=1e-6)
assert exps_finite and zeros  # witness: sum-overflows
caught_by_comparison = near_2_5.endswith("relative error 1 in torch.float16, above 0.004")
assert caught_by_comparison  # witness: comparison-catches-zeros

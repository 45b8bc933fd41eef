"""Exercise: a softmax written by hand passes in bfloat16 and overflows in float16; subtracting
the row's maximum first fixes it, and the helper's input decides whether the check sees the bug.

Needs extra_checks.py in the same folder.
"""

import math

import torch
from extra_checks import check_low_precision
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

# Why: float16's largest value is 65504, so exp overflows above log(65504), and inf / inf is NaN.
float16_max = torch.finfo(torch.float16).max
overflow_at = math.log(float16_max)
below, above = torch.tensor([11.0, 11.2], dtype=torch.float16, device=device).exp().tolist()
inf = torch.tensor(math.inf, dtype=torch.float16, device=device)
print(f"float16 max {float16_max}: exp overflows above {overflow_at:.2f}", end=": ")
print(f"exp(11.0) = {below}, exp(11.2) = {above}")

# The check sees the bug only if its input reaches such a logit. The helper's input, drawn as it
# draws it and rounded to float16, gives logits up to 14.8 at temperature 0.125, 7.4 at 0.25.
x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0)).half().float()
largest_sharp, largest_milder = float(x.max() / 0.125), float(x.max() / 0.25)
print(f"largest logit of the helper's input: {largest_sharp:.1f} at 0.125", end=", ")
print(f"{largest_milder:.1f} at 0.25")
milder = outcome(SharpSoftmax(temperature=0.25), torch.float16)
print(milder)
threes = torch.full((1, 8), 3.0, dtype=torch.float16, device=device)  # logits of 12
milder_on_threes = SharpSoftmax(temperature=0.25)(threes)
print("temperature 0.25 on an input of 3s:", milder_on_threes[0, :2].tolist(), "...")

passes = "output within"
naive_bf16_passes = passes in naive[0]
naive_fp16_nan = naive[1].endswith("SharpSoftmax: NaN or infinity in the torch.float16 output")
assert naive_bf16_passes and naive_fp16_nan  # witness: bf16-passes-fp16-fails
nan_from_inf = bool(torch.isnan(inf / inf)) and math.isinf(above) and math.isfinite(below)
assert float16_max == 65504.0
assert nan_from_inf and 11.0 < overflow_at < 11.2  # witness: overflow-makes-nan
assert all(passes in r for r in stable + library)  # witness: stable-passes
reaches = largest_sharp > overflow_at > largest_milder
milder_passes = passes in milder and bool(torch.isnan(milder_on_threes).all())
assert reaches and milder_passes  # witness: input-decides

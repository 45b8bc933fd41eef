"""assert_close's default tolerances per dtype; an honest tolerance for a bfloat16 forward."""

import math
import re

import torch
from torch import nn

# The table in the documentation of torch.testing.assert_close: dtype -> (rtol, atol).
documented = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
}
float16_rtol, float16_atol = documented[torch.float16]
bfloat16_rtol, bfloat16_atol = documented[torch.bfloat16]
float32_rtol, float32_atol = documented[torch.float32]
float64_rtol, float64_atol = documented[torch.float64]
# The defaults assert_close uses, read from its source (torch/testing/_comparison.py).
in_source = {dtype: torch.testing._comparison.default_tolerances(dtype) for dtype in documented}
# The table in the documentation has rows like "| :attr:`~torch.float16` | ``1e-3`` | ``1e-5`` |".
row = r"~torch\.(\w+)`\s*\|\s*``(.+?)``\s*\|\s*``(.+?)``"
rows = re.findall(row, torch.testing.assert_close.__doc__)
table = {name: (float(rtol), float(atol)) for name, rtol, atol in rows}
in_docs = {dtype: table[str(dtype).removeprefix("torch.")] for dtype in documented}


def mismatch_report(actual: torch.Tensor, expected: torch.Tensor, **options) -> str:
    """assert_close's message, or "" when it accepts."""
    try:
        torch.testing.assert_close(actual, expected, **options)
    except AssertionError as error:
        return str(error)
    return ""


def is_close(actual: torch.Tensor, expected: torch.Tensor, **options) -> bool:
    return mismatch_report(actual, expected, **options) == ""


# Just above 1, neighbouring numbers are eps apart. With |actual - 1| <= atol + rtol * 1, the
# defaults accept a whole number of such steps, and must reject one more.
accepted_steps = {}
for dtype, (rtol, atol) in documented.items():
    eps = torch.finfo(dtype).eps
    steps = math.floor((atol + rtol) / eps)
    one = torch.ones((), dtype=dtype)
    inside = torch.tensor(1 + steps * eps, dtype=dtype)
    outside = torch.tensor(1 + (steps + 1) * eps, dtype=dtype)
    assert is_close(inside, one) and not is_close(outside, one)  # witness: table-holds
    accepted_steps[str(dtype).removeprefix("torch.")] = steps
    print(f"{str(dtype):15} rtol {rtol:<7g} atol {atol:<6g} eps {eps:.3g}: {steps} steps of eps")
bfloat16_steps = accepted_steps["bfloat16"]
float32_steps = accepted_steps["float32"]

# A small MLP in float32 and the same weights in bfloat16, against a float64 reference.
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
x = torch.randn(128, 32)
with torch.no_grad():
    exact = model.double()(x.double())
    in_float32 = model.float()(x)
    in_bfloat16 = model.bfloat16()(x.bfloat16()).float()
scale = in_float32.abs().max().item()  # the size of the outputs
bf16_error = (in_bfloat16 - in_float32).abs().max().item()
float32_error = (in_float32.double() - exact).abs().max().item()
bf16_eps = torch.finfo(torch.bfloat16).eps
float32_eps = torch.finfo(torch.float32).eps
# (The float32 error's last digits depend on the CPU's kernels: print a bound.)
print(f"largest output {scale:.3f}; float32 error below 1e-6: {float32_error < 1e-6}")
error_in_eps = bf16_error / scale / bf16_eps
print(f"bfloat16 vs float32: largest difference {bf16_error:.2e}, {error_in_eps:.2f} eps x scale")

# Default tolerances come from the dtypes passed (the loosest of them). Passing the bfloat16
# result itself gives bfloat16's: rtol times each reference value's size, plus an atol of 1e-5.
report = mismatch_report(in_bfloat16.bfloat16(), in_float32, check_dtype=False)
defaults_pass = report == ""
output_count = in_float32.numel()


def count_outside(rtol: float, atol: float) -> int:
    return int(((in_bfloat16 - in_float32).abs() > atol + rtol * in_float32.abs()).sum())


failing_count = count_outside(*documented[torch.bfloat16])
# The same values after .float(): both tensors are float32, so float32's defaults apply.
float32_report = mismatch_report(in_bfloat16, in_float32)
float32_failing_count = count_outside(*documented[torch.float32])
print(f"defaults, bfloat16 result passed: {failing_count} of {output_count} out of tolerance")
print(f"defaults, result passed as float32: {float32_failing_count} of {output_count}")
# Why: the absolute error hardly depends on an output's size. Sort the outputs by size.
errors = (in_bfloat16 - in_float32).abs().flatten()
sizes = in_float32.abs().flatten()
order = sizes.argsort()
smallest, largest = order[: len(order) // 4], order[-len(order) // 4 :]
small_error, large_error = errors[smallest].mean().item(), errors[largest].mean().item()
small_size, large_size = sizes[smallest].mean().item(), sizes[largest].mean().item()
# The rounding of each output itself, to bfloat16: a small part of the error of small outputs.
own_rounding = (in_float32.bfloat16().float() - in_float32).abs().flatten()
small_own = own_rounding[smallest].mean().item()
print("Mean error of the outputs, and the part an output's own rounding would explain:")
print(f"  smallest quarter (mean size {small_size:.3f}): {small_error:.1e}, own {small_own:.1e}")
print(f"  largest quarter  (mean size {large_size:.3f}): {large_error:.1e}")
# Measured against the size of the outputs, the error is a fraction of bfloat16's eps.
# bfloat16's default rtol is already about 2 eps; what fails is the default atol, 1e-5.
honest = {"rtol": bfloat16_rtol, "atol": bf16_eps * scale}
honest_pass = is_close(in_bfloat16, in_float32, **honest)
# No rtol rescues the default atol, and the raised atol needs no rtol at all.
rtol_alone_fails = not is_close(in_bfloat16, in_float32, rtol=1.0, atol=bfloat16_atol)
atol_alone_passes = is_close(in_bfloat16, in_float32, rtol=0.0, atol=bf16_eps * scale)
rtol_is_two_eps = math.isclose(bfloat16_rtol, 2 * bf16_eps, rel_tol=0.05)
perturbed = in_bfloat16.clone()
perturbed[0, 0] += 0.03 * scale  # one output off by 3% of the output scale
catches_a_real_error = not is_close(perturbed, in_float32, **honest)
print("default bfloat16 tolerances:", defaults_pass, "| atol eps x scale instead:", honest_pass)
print("the same, with one output off by 3% of the scale:", not catches_a_real_error)

assert in_docs == in_source == documented  # witness: table-is-torchs
assert float32_error < 1e-6
assert not defaults_pass and failing_count > 0  # witness: defaults-fail
assert f"Mismatched elements: {failing_count} / {output_count}" in report and (
    f"Mismatched elements: {float32_failing_count} / {output_count}" in float32_report
)  # witness: defaults-from-dtypes
assert (
    small_size < large_size / 5 and small_error > large_error / 2 and small_own < small_error / 5
)  # witness: same-error
atol_decides = rtol_is_two_eps and honest_pass and rtol_alone_fails and atol_alone_passes
assert bf16_error < bf16_eps * scale and atol_decides  # witness: honest-tolerance
assert catches_a_real_error  # witness: still-strict

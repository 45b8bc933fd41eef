"""Which float32 differences assert_close's defaults absorb, what TF32 adds, and a legacy getter."""
# guide: timeout=60

import os
import subprocess
import sys

import torch


def close_by_default(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    try:
        torch.testing.assert_close(actual, expected)  # the float32 defaults
    except AssertionError:
        return False
    return True


torch.manual_seed(0)  # the same product as 08_numerics.py
a, b = torch.randn(32, 64), torch.randn(64, 32)
product = a @ b

# Each entry sums 64 float32 products. Summed one by one in reverse order, they round differently.
terms = a[:, :, None] * b[None, :, :]  # terms[i, k, j] = a[i, k] * b[k, j]
reversed_sum = torch.zeros(32, 32)
for k in reversed(range(64)):
    reversed_sum += terms[:, k]
reordering = (reversed_sum - product).abs().max().item()
passes = close_by_default(reversed_sum, product)
print(f"reversed order: largest difference {reordering:.1e}, close by the defaults: {passes}")


# TF32 keeps 10 of float32's 23 mantissa bits. A model of it on the CPU: round the inputs so.
def to_tf32(t: torch.Tensor, nearest: bool = True) -> torch.Tensor:
    bits = t.view(torch.int32) + (0x1000 if nearest else 0)  # to nearest, or truncate
    return (bits & ~0x1FFF).view(torch.float32)  # clear the low 13 bits


tf32_like = to_tf32(a) @ to_tf32(b)
tf32_difference = (tf32_like - product).abs().max().item()
tf32_relative = tf32_difference / product.abs().max().item()
print(f"inputs rounded to TF32: largest difference {tf32_difference:.1e}", end=", ")
print(f"{tf32_relative:.0e} of the largest entry")
relative_change = (tf32_like - product).abs() / product.abs()  # each entry against its own size
third_digit, entries = int((relative_change > 1e-3).sum()), product.numel()
print(f"entries changed by more than 1e-3 of their size: {third_digit} of {entries}")
truncated = to_tf32(a, nearest=False) @ to_tf32(b, nearest=False)
truncated_relative = (truncated - product).abs().max().item() / product.abs().max().item()
truncated_third_digit = int(((truncated - product).abs() / product.abs() > 1e-3).sum())
print(f"inputs truncated instead: {truncated_relative:.0e}, {truncated_third_digit} entries")

# With TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1, read when torch is imported, so in a child process:
# read the matrix-product string, set it to "ieee", then read it and the two legacy settings.
child_code = """import torch
print(torch.backends.cuda.matmul.fp32_precision)
torch.backends.cuda.matmul.fp32_precision = "ieee"
print(torch.backends.cuda.matmul.fp32_precision, torch.get_float32_matmul_precision())
try:
    torch.backends.cuda.matmul.allow_tf32
except RuntimeError:
    print("raises")"""
overridden = subprocess.run(
    [sys.executable, "-c", child_code],
    env={**os.environ, "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"},
    capture_output=True,
    text=True,
    check=True,
).stdout.split()
print("with the override, the string at the start, after it, the getter, allow_tf32:", overridden)

assert reordering > 0 and close_by_default(reversed_sum, product)  # witness: reordering-passes
assert tf32_difference > 100 * reordering and tf32_relative > 1e-4  # witness: tf32-much-larger
doubled = truncated_relative > 2 * tf32_relative and truncated_third_digit > 2 * third_digit
assert doubled  # witness: truncation-doubles
assert overridden[0] == "tf32"  # witness: override-turns-tf32-on
assert overridden[1:] == ["ieee", "high", "raises"]  # witness: override-getter-silent

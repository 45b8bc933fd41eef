"""Why a CPU and a GPU give slightly different float32 results, and how to compare them."""

import math
import os

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# Rounding makes float32 addition depend on the order of the terms.
big, one = torch.tensor(1e8), torch.tensor(1.0)
spacing_at_big = (torch.nextafter(big, torch.tensor(math.inf)) - big).item()
big_first = ((big + one) - big).item()  # 1e8 + 1 rounds back to 1e8
big_cancelled_first = ((big - big) + one).item()
print(f"float32 numbers near 1e8 are {spacing_at_big:g} apart")
print(f"(1e8 + 1) - 1e8 = {big_first:g}, but (1e8 - 1e8) + 1 = {big_cancelled_first:g}")

# A matrix product sums 64 terms per entry; each device and library picks its own order.
torch.manual_seed(0)
a, b = torch.randn(32, 64), torch.randn(64, 32)
on_cpu = a @ b
on_device = (a.to(device) @ b.to(device)).cpu()
exact = a.double() @ b.double()  # a float64 reference
cpu_error = (on_cpu.double() - exact).abs().max().item()
device_error = (on_device.double() - exact).abs().max().item()
device_vs_cpu = (on_device - on_cpu).abs().max().item()
print(f"largest error against float64: cpu {cpu_error:.1e}, {device} {device_error:.1e}")
print(f"largest difference {device} vs cpu: {device_vs_cpu:.1e}")
# TF32 (below) keeps 10 bits of mantissa: where it is forced on, expect errors near 1e-3.
tf32_forced = os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1"
tolerance = 1e-2 if tf32_forced else 1e-4
torch.testing.assert_close(on_device, on_cpu, rtol=tolerance, atol=tolerance)  # never equal()
agree_within_tolerance = True

# On NVIDIA GPUs since Ampere, TF32 trades precision for speed where these settings allow it.
# Since PyTorch 2.9 each is a string: "tf32" allows it, "ieee" forbids it, "none" inherits the
# default (full float32). They replace the older booleans torch.backends.cuda.matmul.allow_tf32 and
# torch.backends.cudnn.allow_tf32; do not mix the two APIs in one program.
matmul_precision = torch.backends.cuda.matmul.fp32_precision
conv_precision = torch.backends.cudnn.conv.fp32_precision
print(
    f"fp32_precision for matrix products: {matmul_precision!r}, "
    f"for convolutions: {conv_precision!r}"
)

assert spacing_at_big == 8.0 and big_first == 0.0 and big_cancelled_first == 1.0
assert cpu_error < 1e-4 and device_error < tolerance and agree_within_tolerance
if device.type == "cpu":
    assert device_vs_cpu == 0.0  # the same product, computed the same way twice
assert conv_precision == "tf32"
# The matrix-product default can be changed from outside: NVIDIA's NGC containers set
# TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1, which turns TF32 on. Check the default only without it.
if not tf32_forced:
    assert matmul_precision != "tf32"

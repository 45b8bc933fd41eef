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


# torch.testing.assert_close picks default tolerances from the dtype: float16 gets wider ones.
def close_by_default(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    try:
        torch.testing.assert_close(actual, expected)
    except AssertionError:
        return False
    return True


slightly_more = torch.tensor(1.001)
close_in_float16 = close_by_default(slightly_more.half(), one.half())
close_in_float32 = close_by_default(slightly_more, one)
print(f"1.001 vs 1 with default tolerances: float16 {close_in_float16}, float32 {close_in_float32}")

# On NVIDIA GPUs since Ampere, TF32 trades precision for speed where these settings allow it.
# Since PyTorch 2.9 each is a string: "tf32" allows it, "ieee" forbids it, and "none" means
# "not set at this level": the value comes from the level above. The levels, widest first:
#   torch.backends.fp32_precision              every backend
#   torch.backends.cudnn.fp32_precision        CUDA as a whole: cuBLAS and cuDNN alike
#   torch.backends.cuda.matmul.fp32_precision  one kind of operation; so are
#   torch.backends.cudnn.conv.fp32_precision and torch.backends.cudnn.rnn.fp32_precision
backends = torch.backends
matmul_precision = backends.cuda.matmul.fp32_precision
conv_precision = backends.cudnn.conv.fp32_precision
print(f"fp32_precision: matrix products {matmul_precision!r}, convolutions {conv_precision!r}")

saved = (backends.fp32_precision, backends.cudnn.fp32_precision, matmul_precision)
try:
    backends.cuda.matmul.fp32_precision = "none"  # not set here ...
    backends.fp32_precision = "tf32"
    matmul_under_generic_tf32 = backends.cuda.matmul.fp32_precision  # ... so it inherits
    backends.cudnn.fp32_precision = "ieee"  # the nearer level wins
    matmul_under_cuda_ieee = backends.cuda.matmul.fp32_precision
    backends.fp32_precision = backends.cudnn.fp32_precision = "none"
    # The convolutions' own default ("tf32", not set by you) gives way to a level set above it,
    # since torch 2.13; torch 2.11 still read "tf32" here (pytorch/pytorch#179445).
    backends.fp32_precision = "ieee"
    conv_under_generic_ieee = backends.cudnn.conv.fp32_precision
    backends.fp32_precision = "none"

    # Mixing APIs: set the new string, then read a legacy setting that disagrees with it.
    backends.cuda.matmul.fp32_precision = "ieee" if matmul_precision == "tf32" else "tf32"
    try:
        backends.cuda.matmul.allow_tf32  # the legacy boolean
        mixed = "no error"
    except RuntimeError as error:
        mixed = f"{type(error).__name__}: {error}"
    try:
        torch.get_float32_matmul_precision()  # legacy too, like set_float32_matmul_precision
        mixed_precision = "no error"
    except RuntimeError as error:
        mixed_precision = f"{type(error).__name__}: {error}"
finally:  # leave the settings as they were
    backends.cuda.matmul.fp32_precision = saved[2]
    backends.cudnn.fp32_precision = saved[1]
    backends.fp32_precision = saved[0]
print(
    "torch.backends.fp32_precision = 'tf32': matrix products read", repr(matmul_under_generic_tf32)
)
print("and torch.backends.cudnn.fp32_precision = 'ieee': they read", repr(matmul_under_cuda_ieee))
print("torch.backends.fp32_precision = 'ieee': convolutions read", repr(conv_under_generic_ieee))
for legacy, outcome in (("allow_tf32", mixed), ("get_float32_matmul_precision", mixed_precision)):
    print(f"reading {legacy} after setting fp32_precision:", outcome.split(",")[0])
    if "mix of" in outcome:
        print("   ", outcome[outcome.index("you have used") :].split(" to set")[0])
restored = (
    backends.fp32_precision,
    backends.cudnn.fp32_precision,
    backends.cuda.matmul.fp32_precision,
    backends.cudnn.conv.fp32_precision,  # never set here: its default is back in force
)

assert spacing_at_big == 8.0 and big_first == 0.0 and big_cancelled_first == 1.0  # witness: order
assert cpu_error < 1e-4 and device_error < tolerance and agree_within_tolerance
if device.type == "cpu":
    assert device_vs_cpu == 0.0  # witness: cpu-twice-identical
assert close_in_float16 and not close_in_float32  # witness: tolerances-follow-dtype
assert conv_precision == "tf32"  # witness: conv-default-tf32
# The matrix-product default can be changed from outside: NVIDIA's NGC containers set
# TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1, which turns TF32 on. Check the default only without it.
if tf32_forced:
    assert matmul_precision == "tf32"  # witness: override-turns-tf32-on
else:
    assert matmul_precision == "none"  # witness: matmul-default-none
    matmul_prefix = "RuntimeError: PyTorch is checking the matmul precision"
    assert mixed_precision.startswith(matmul_prefix)  # witness: mixed-precision
boolean_prefix = "RuntimeError: PyTorch is checking whether allow_tf32"
assert (
    mixed.startswith(boolean_prefix) and "mix of the legacy and new APIs" in mixed
)  # witness: mix
assert matmul_under_generic_tf32 == "tf32"  # witness: none-inherits
assert matmul_under_cuda_ieee == "ieee"  # witness: nearer-level-wins
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
conv_default_yields = release >= (2, 13)  # checked from this release on
assert conv_under_generic_ieee == "ieee" or not conv_default_yields  # witness: conv-default-yields
assert restored == (*saved, conv_precision)  # witness: settings-restored

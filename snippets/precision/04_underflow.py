"""A small gradient becomes zero in float16; scaling the loss keeps it; bfloat16 keeps it anyway."""

import math
import platform

import torch
from torch import nn

for dtype in (torch.float16, torch.bfloat16, torch.float32):
    info = torch.finfo(dtype)
    print(
        f"{str(dtype):15} max {info.max:.3g}  smallest normal {info.smallest_normal:.3g}  "
        f"smallest {info.smallest_normal * info.eps:.3g}  eps {info.eps:.3g}"
    )
half, bf16, single = (torch.finfo(d) for d in (torch.float16, torch.bfloat16, torch.float32))
float16_bits, bfloat16_bits = round(-math.log2(half.eps)), round(-math.log2(bf16.eps))
float16_max = half.max
float16_smallest = half.smallest_normal * half.eps  # below the normal range: subnormal numbers
bfloat16_max = bf16.max
bfloat16_smallest_normal = bf16.smallest_normal  # below it, bfloat16 numbers lose bits
bfloat16_smallest = bf16.smallest_normal * bf16.eps  # at or below half of it, a value rounds to 0

# bfloat16 covers float32's normal range up to its own largest value; only the ends are lost.
ends = torch.tensor([single.smallest_normal, 3.38e38, 3.4e38, 1e-42])  # float32
ends_in_bfloat16 = ends.bfloat16()
# Just below, at and just above half of bfloat16's smallest positive value, in float32.
around_half_smallest = torch.tensor([0.49, 0.5, 0.51]) * bfloat16_smallest
half_smallest_in_bfloat16 = around_half_smallest.bfloat16().tolist()
for value, rounded in zip(ends.tolist(), ends_in_bfloat16.tolist(), strict=True):
    print(f"float32 {value:.3g} -> bfloat16 {rounded:.3g}")
for value, rounded in zip(around_half_smallest.tolist(), half_smallest_in_bfloat16, strict=True):
    print(f"float32 {value:.3g} -> bfloat16 {rounded:.3g}")


# A bfloat16 matrix product may treat subnormal inputs and products as zero. That depends on
# the CPU's kernels, so it is printed, not asserted. Each product is repeated with oneDNN
# turned off, and in float32.
def first_products(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float, float]:
    """(a @ b)[0, 0] in bfloat16, in bfloat16 without oneDNN, and in float32."""
    onednn_before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        without_onednn = (a @ b)[0, 0].item()
    finally:
        torch.backends.mkldnn.enabled = onednn_before
    return (a @ b)[0, 0].item(), without_onednn, (a.float() @ b.float())[0, 0].item()


tiny_matrix = torch.full((64, 64), 1e-39).bfloat16()  # subnormal in bfloat16 (and float32)
ones = torch.ones(64, 64).bfloat16()
tiny_products = first_products(tiny_matrix, ones)
# Normal inputs, 1e-20, whose 256 products in each sum, about 1e-40, are subnormal.
normal_inputs = torch.full((64, 256), 1e-20).bfloat16()
term_products = first_products(normal_inputs, normal_inputs.T)
for name, (low, without_onednn, single_product) in (
    ("1e-39s times 64 x 64 ones:", tiny_products),
    ("1e-20s times 1e-20s, 256 terms:", term_products),
):
    print(f"{name:31} bfloat16 {low:.3g}, without oneDNN {without_onednn:.3g}, ", end="")
    print(f"float32 {single_product:.3g}")
float32_product, subnormal_terms_float32 = tiny_products[2], term_products[2]

# A CPU that flushes subnormal numbers to zero gives 0 for them in arithmetic, and when reading
# one; float16's subnormals are normal float32 numbers. Tensors made in the mode are read after it.
# The mode is the calling thread's: these tensors are small enough to be computed on that thread.
subnormals = torch.tensor([1e-39, 1e-38])  # float32, below the smallest normal number
subnormals_in_bfloat16 = subnormals.bfloat16()  # nonzero, as above
subnormal_in_float16 = torch.tensor([1e-6]).half()  # below float16's smallest normal, 6.1e-5
flush_supported = torch.set_flush_denormal(True)  # False where the CPU cannot flush
try:
    read_while_flushing = subnormals_in_bfloat16.tolist()  # a tensor made before the mode
    float32_read = subnormals.tolist()
    float16_read = subnormal_in_float16.tolist()
    flushed_cast = subnormals.bfloat16()
    flushed_product = subnormals_in_bfloat16 * 1
    float16_product = subnormal_in_float16 * 1
finally:
    torch.set_flush_denormal(False)  # back to the default
cast_bits = flushed_cast.view(torch.int16).tolist()  # the stored bits, no float arithmetic
product_bits = flushed_product.view(torch.int16).tolist()
x86 = platform.machine().lower() in ("x86_64", "amd64")
x86_flushes = flush_supported and x86  # x86 converts float32 to bfloat16 with integer operations
print(f"set_flush_denormal(True) supported: {flush_supported}; then, for 1e-39 and 1e-38:")
print(f"    bfloat16 values read {read_while_flushing}, float32 values read {float32_read}")
print(f"    cast to bfloat16: {flushed_cast.tolist()}, bits {cast_bits}")
print(f"    bfloat16 value times 1: {flushed_product.tolist()}, bits {product_bits}")
print(f"    float16 1e-6 read {float16_read[0]:.3g}, times 1: {float16_product.item():.3g}")

# One tiny gradient value, rounded to each dtype.
tiny = torch.tensor(1e-8)
in_float16 = tiny.half().item()
in_bfloat16 = tiny.bfloat16().item()
scale = torch.amp.GradScaler("cpu").get_scale()  # the default initial scale
scaled_in_float16 = (tiny * scale).half()
recovered = (scaled_in_float16.float() / scale).item()  # unscaled in float32
print(f"1e-8 in float16: {in_float16}, in bfloat16: {in_bfloat16:.4g}")
print(f"1e-8 * 2**16 in float16: {scaled_in_float16.item():.4g}, divided back: {recovered:.4g}")


# The same thing in a backward pass: float16 activations under autocast, a loss whose
# gradients are that small, and float32 parameters.
def first_weight_grad(dtype: torch.dtype, scaler: torch.amp.GradScaler | None):
    """The first layer's weight gradient, and (dtype, nonzero count) of the gradient that
    reaches out.float(), then out."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with torch.autocast("cpu", dtype=dtype):
        out = model(torch.randn(8, 4))
    out_float = out.float()
    reaching = []
    for tensor in (out_float, out):
        tensor.register_hook(lambda g: reaching.append((g.dtype, g.count_nonzero().item())))
    loss = 1e-8 * out_float.sum()
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()  # backward of loss * scale
        scaler.unscale_(optimizer)  # divide the float32 .grad by the scale again
    return model[0].weight.grad, reaching


plain, plain_reaching = first_weight_grad(torch.float16, None)
scaled, _ = first_weight_grad(torch.float16, torch.amp.GradScaler("cpu"))
in_bf16, _ = first_weight_grad(torch.bfloat16, None)
print("float16, no scaler:   nonzero gradients", plain.count_nonzero().item(), "of", plain.numel())
print("float16, GradScaler:  nonzero gradients", scaled.count_nonzero().item())
print("bfloat16, no scaler:  nonzero gradients", in_bf16.count_nonzero().item())
largest_difference = (scaled - in_bf16).abs().max().item() / in_bf16.abs().max().item()
print(f"float16 + scaler vs bfloat16: largest difference {largest_difference:.1%} of the largest")

assert float16_max == 65504 and in_float16 == 0.0 < 1e-8 < float16_smallest  # witness: underflow
assert scale == 2.0**16
assert abs(recovered - 1e-8) < 1e-3 * 1e-8  # witness: scaling-keeps-it
assert (
    bf16.smallest_normal == single.smallest_normal and bf16.max / single.max > 0.99
)  # witness: bf16-range
assert (
    ends.isfinite().all()
    and ends.count_nonzero() == 4
    and ends_in_bfloat16[:2].isfinite().all()
    and ends_in_bfloat16[:2].count_nonzero() == 2
    and ends_in_bfloat16[2].isinf()
    and ends_in_bfloat16[3] == 0
)  # witness: bf16-loses-ends
assert half_smallest_in_bfloat16 == [0.0, 0.0, bfloat16_smallest]  # witness: bf16-cast-zero-below
product_terms = 256 * normal_inputs[0, 0].item() ** 2
assert math.isclose(float32_product, 64 * tiny_matrix[0, 0].item()) and math.isclose(
    subnormal_terms_float32, product_terms, rel_tol=1e-3
)  # witness: float32-product
if x86:  # elsewhere, a kernel without oneDNN may use bfloat16 dot-product instructions too
    kept = [math.isclose(p[1], p[2], rel_tol=1e-2) for p in (tiny_products, term_products)]
    assert all(kept)  # witness: onednn-off-keeps
assert subnormals_in_bfloat16.count_nonzero() == 2 and subnormals.max() < bfloat16_smallest_normal
if flush_supported:
    read_as_zero = read_while_flushing == float32_read == [0.0, 0.0]
    assert product_bits == [0, 0] and read_as_zero  # witness: flush-denormal-zeroes
    assert (
        subnormal_in_float16.float().item() >= single.smallest_normal  # a normal float32
        and float16_read == subnormal_in_float16.float().tolist() != [0.0]
        and float16_product.view(torch.int16).equal(subnormal_in_float16.view(torch.int16))
    )  # witness: flush-keeps-float16
if x86_flushes:
    kept_bits = subnormals_in_bfloat16.view(torch.int16)
    assert cast_bits == kept_bits.tolist() and 0 not in cast_bits  # witness: flush-cast-keeps
assert in_bfloat16 != 0.0 and (float16_bits, bfloat16_bits) == (10, 7)
cast_to_zero = plain_reaching == [(torch.float32, 8), (torch.float16, 0)]  # 8 outputs
assert cast_to_zero  # witness: cast-on-the-way-back
assert plain.count_nonzero() == 0  # witness: zero-gradients
assert scaled.count_nonzero() == scaled.numel()  # witness: scaler-rescues
assert in_bf16.count_nonzero() == in_bf16.numel()  # witness: bf16-no-scaler
assert largest_difference < 0.02

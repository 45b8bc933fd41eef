"""Which float32 differences assert_close's default tolerances absorb, and which they do not."""

import torch


def close_by_default(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    try:
        torch.testing.assert_close(actual, expected)  # the defaults for the tensors' dtype
    except AssertionError:
        return False
    return True


one_001_in_float16 = torch.tensor(1.001).half().item()  # 08_numerics.py's 1.001 in float16
print("1.001 stored in float16:", one_001_in_float16)
pair = torch.tensor(1.0009765625), torch.tensor(1.0)  # that value and 1, in float32
close_in_float32 = close_by_default(*pair)
close_in_float16 = close_by_default(*(t.half() for t in pair))  # the same values in float16
print(f"{one_001_in_float16} and 1 close by the defaults: in float32 {close_in_float32},", end=" ")
print(f"in float16 {close_in_float16}")

torch.manual_seed(0)  # the inputs of 08_numerics.py's product, the same on this machine (randn's
# draws depend on the CPU's kernels: initialization/12_normal_draws_by_cpu.py)
a, b = torch.randn(32, 64), torch.randn(64, 32)
terms_per_entry = a.shape[1]  # each entry of a @ b sums this many products


def sums_both_ways(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each entry of x @ y (2-D float32 tensors) as a sum of rounded products, added one by one,
    first to last and last to first."""
    terms = x[:, :, None] * y[None, :, :]  # terms[i, k, j] = x[i, k] * y[k, j]
    n = x.shape[1]
    first_to_last = torch.zeros(x.shape[0], y.shape[1])
    last_to_first = torch.zeros(x.shape[0], y.shape[1])
    for k in range(n):
        first_to_last += terms[:, k]
        last_to_first += terms[:, n - 1 - k]
    return first_to_last, last_to_first


first_to_last_sum, last_to_first_sum = sums_both_ways(a, b)
reordering = (last_to_first_sum - first_to_last_sum).abs().max().item()
differing = int((last_to_first_sum != first_to_last_sum).sum())
passes = close_by_default(last_to_first_sum, first_to_last_sum)
entries = first_to_last_sum.numel()
print(f"last to first against first to last: {differing} of {entries} entries differ,", end=" ")
print(f"the largest by {reordering:.1e}; close by the defaults: {passes}")
# Both inputs 4 times larger: scaling by a power of two commutes with rounding (barring overflow
# and subnormals), so the sums and every difference are exactly 16 times larger, and so is
# rtol * |expected|, but not atol.
scaled_first_to_last_sum, scaled_last_to_first_sum = sums_both_ways(4 * a, 4 * b)
exact = torch.equal(scaled_first_to_last_sum, 16 * first_to_last_sum)
exact = exact and torch.equal(scaled_last_to_first_sum, 16 * last_to_first_sum)
scaled_passes = close_by_default(scaled_last_to_first_sum, scaled_first_to_last_sum)
print("both inputs 4 times larger: sums exactly 16 times larger:", exact, end="; ")
print("close by the defaults:", scaled_passes)

assert pair[0].item() == one_001_in_float16  # the float32 pair holds float16's 1.001
assert not close_in_float32 and close_in_float16  # witness: tolerance-from-dtype
assert differing * 2 > entries and passes  # witness: reordering-passes
assert passes and exact and not scaled_passes  # witness: absolute-tolerance-absorbs

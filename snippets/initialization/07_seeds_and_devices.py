"""Same seed, same initial weights: on one device, in one dtype and one construction order."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def build(device: torch.device | None = None) -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8, device=device), nn.ReLU(), nn.Linear(8, 2, device=device))


def same_weights(first: nn.Module, second: nn.Module) -> bool:
    return all(
        torch.equal(p.cpu(), q.cpu()) for p, q in zip(first.parameters(), second.parameters())
    )


torch.manual_seed(0)
reference = build()
torch.manual_seed(0)
again = build()
same_seed_same_weights = same_weights(reference, again)

# Every layer draws from the same global stream, in construction order: a layer added in front
# consumes numbers, and every layer after it starts differently.
torch.manual_seed(0)
extra_in_front = nn.Sequential(nn.Linear(4, 4), build())
later_layer_unchanged = torch.equal(extra_in_front[1][0].weight, reference[0].weight)
any_later_unchanged = any(
    torch.equal(p, q) for p, q in zip(extra_in_front[1].parameters(), reference.parameters())
)
# A layer that draws nothing shifts nothing: no parameters, or parameters that start at constants.
torch.manual_seed(0)
drawless_in_front = nn.Sequential(nn.ReLU(), nn.LayerNorm(4), nn.BatchNorm1d(4), build())
drawless_shifts_nothing = same_weights(drawless_in_front[3], reference)

# The dtype decides too: from the same seed, a float64 layer gets other numbers altogether, not
# the float32 ones with more digits. set_default_dtype changes the dtype the constructors use.
torch.manual_seed(0)
single = nn.Linear(4, 8)
torch.manual_seed(0)
double = nn.Linear(4, 8, dtype=torch.float64)
dtype_difference = (single.weight.double() - double.weight).abs().max().item()
no_weight_close = not torch.isclose(single.weight.double(), double.weight).any()
previous_dtype = torch.get_default_dtype()
torch.set_default_dtype(torch.float64)
try:
    torch.manual_seed(0)
    by_default_dtype = nn.Linear(4, 8)
finally:
    torch.set_default_dtype(previous_dtype)
default_dtype_like_explicit = torch.equal(by_default_dtype.weight, double.weight)
# The half types are different: they get the float32 draws, rounded, except for a few numbers
# at the edge: a draw that rounds up to the top of the range, 1/sqrt(300), wraps to its bottom.
half_shares, only_at_the_edge = [], True
for half_dtype in (torch.float16, torch.bfloat16):
    torch.manual_seed(0)
    rounded = nn.Linear(300, 64).weight.detach().to(half_dtype)
    torch.manual_seed(0)
    wide_half = nn.Linear(300, 64, dtype=half_dtype)
    agree = wide_half.weight == rounded
    half_shares.append(agree.float().mean().item())
    only_at_the_edge &= bool((rounded[~agree] >= 300**-0.5).all())

# Initialize on the CPU, then move: the same values on every device.
torch.manual_seed(0)
moved = build().to(device)
moved_matches = same_weights(moved, reference)

# Built directly on the device: the values come from that device's generator.
torch.manual_seed(0)
direct = build(device)
direct_matches = same_weights(direct, reference)
if device.type == "cuda":  # manual_seed reseeds every GPU's generator: the same values again
    gpus_reseeded = []
    for index in range(torch.cuda.device_count()):
        torch.manual_seed(0)
        first = build(torch.device("cuda", index))
        torch.manual_seed(0)
        gpus_reseeded.append(same_weights(build(torch.device("cuda", index)), first))

print("same seed, same weights:", same_seed_same_weights)
print("extra layer in front, later layer unchanged:", later_layer_unchanged)
print("LayerNorm, BatchNorm1d and ReLU in front, later layers unchanged:", drawless_shifts_nothing)
print(f"same seed, float32 vs float64 layer: weights differ by up to {dtype_difference:.2f}")
print(
    "same seed, float16 and bfloat16 layers: share of weights equal to float32 rounded "
    f"{half_shares[0]:.4f}, {half_shares[1]:.4f}"
)
print(f"built on the CPU, moved to {device.type}: matches the CPU reference:", moved_matches)
print(f"built directly on {device.type}: matches the CPU reference:", direct_matches)

assert same_seed_same_weights  # witness: same-seed-same-weights
assert not later_layer_unchanged and not any_later_unchanged  # witness: extra-layer-shifts-rest
assert drawless_shifts_nothing  # witness: drawless-layer-shifts-nothing
assert (
    dtype_difference > 0.1
    and no_weight_close
    and default_dtype_like_explicit
    and previous_dtype == torch.float32
)  # witness: dtype-changes-numbers
assert (
    min(half_shares) > 0.99 and max(half_shares) < 1 and only_at_the_edge
)  # witness: half-types-round-float32
if device.type == "cpu":
    assert direct_matches  # witness: cpu-build-agrees
else:  # only here: on the CPU, .to(device) changes nothing, so it would prove nothing
    assert moved_matches  # witness: moved-keeps-cpu-values
if device.type == "cuda":
    assert not direct_matches  # witness: cuda-generator-differs
    assert all(gpus_reseeded)  # witness: seed-resets-device-stream

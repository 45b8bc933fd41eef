"""Same seed, same initial weights: on one device, in one dtype and one construction order."""

import math

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
# consumes numbers, and here every layer after it starts differently (see the spare below).
torch.manual_seed(0)
extra_in_front = nn.Sequential(nn.Linear(4, 4), build())
later_layer_unchanged = torch.equal(extra_in_front[1][0].weight, reference[0].weight)
any_later_unchanged = any(
    torch.equal(p, q) for p, q in zip(extra_in_front[1].parameters(), reference.parameters())
)
# Swapping two Linear layers changes their own weights, but not those of the layers built after
# both: the same amount was drawn before them, so the stream is in the same state.
torch.manual_seed(0)
front = [nn.Linear(4, 4), nn.Linear(2, 6)]
state_after_front = torch.get_rng_state()
later = build()
torch.manual_seed(0)
swapped_front = [nn.Linear(2, 6), nn.Linear(4, 4)]
swap_same_state = torch.equal(torch.get_rng_state(), state_after_front)
swap_keeps_later = same_weights(build(), later)
swapped_layers_differ = not torch.equal(front[0].weight, swapped_front[1].weight)
# A normal draw into fewer than 16 numbers makes them in pairs and keeps the unused half of the
# last pair in the generator's state, where the next draw made in pairs starts with it. Here a
# swap with a Linear changes the next small normal draw (an Embedding(3, 1)), but not a later
# Linear, which draws uniform numbers. From 16 contiguous numbers on, another kernel draws them
# and keeps no spare: an odd count such as 17 shifts nothing.


def later_draws(front: list) -> list[torch.Tensor]:
    torch.manual_seed(0)
    for make in front:
        make()
    linear = nn.Linear(3, 3).weight  # drawn while the spare may still differ
    return [nn.Embedding(3, 1).weight, linear]


def swap_changes(count: int) -> list[bool]:
    """Embedding(1, count) and a Linear, in both orders: which later weights differ."""
    embedding, linear = (lambda: nn.Embedding(1, count)), (lambda: nn.Linear(4, 4))
    before, after = later_draws([embedding, linear]), later_draws([linear, embedding])
    return [not torch.equal(p, q) for p, q in zip(before, after)]


# [Embedding(3, 1), Linear] changed? After Embedding(1, 15), (1, 4) and (1, 17) in front:
odd_swap, even_swap, large_swap = swap_changes(15), swap_changes(4), swap_changes(17)
# A layer whose whole draw is a spare left by an earlier odd draw (an Embedding(1, 3)) uses no new
# uniform numbers: an Embedding(1, 1) built in front leaves the Linear layers right after it alone.
# It does use up the spare, so a later normal draw (an Embedding(3, 1)) changes.


def after_odd_draw(spare_user: bool) -> tuple:
    """Seed 0, an Embedding(1, 3), maybe an Embedding(1, 1), then build() and an Embedding(3, 1)."""
    torch.manual_seed(0)
    nn.Embedding(1, 3)
    if spare_user:
        nn.Embedding(1, 1)
    return build(), nn.Embedding(3, 1).weight


(linears, embedding), (linears_spare, embedding_spare) = after_odd_draw(False), after_odd_draw(True)
spare_only_keeps_linears = same_weights(linears_spare, linears)
spare_used_up = not torch.equal(embedding_spare, embedding)
# A layer that draws nothing shifts nothing: no parameters, or a constructor that only fills them
# with constants.
torch.manual_seed(0)
drawless_in_front = nn.Sequential(nn.ReLU(), nn.LayerNorm(4), nn.BatchNorm1d(4), build())
drawless_shifts_nothing = same_weights(drawless_in_front[3], reference)

# The dtype decides too: from the same seed, a float64 Linear gets other numbers altogether, not
# the float32 ones with more digits. set_default_dtype changes the dtype the constructors use.
torch.manual_seed(0)
single = nn.Linear(4, 8)
torch.manual_seed(0)
double = nn.Linear(4, 8, dtype=torch.float64)
dtype_difference = (single.weight.double() - double.weight).abs().max().item()
no_weight_close = not torch.isclose(single.weight.double(), double.weight).any()
# Not for a normal draw of fewer than 16 numbers, which the CPU makes in double precision for
# float32 as for float64.
torch.manual_seed(0)
small_single = nn.Embedding(3, 5)
torch.manual_seed(0)
small_double = nn.Embedding(3, 5, dtype=torch.float64)
small_rounded = torch.equal(small_double.weight.float(), small_single.weight)
previous_dtype = torch.get_default_dtype()
torch.set_default_dtype(torch.float64)
try:
    torch.manual_seed(0)
    by_default_dtype = nn.Linear(4, 8)
finally:
    torch.set_default_dtype(previous_dtype)
default_dtype_like_explicit = by_default_dtype.weight.dtype == torch.float64 and torch.equal(
    by_default_dtype.weight, double.weight
)
# On the CPU the half types are different: torch 2.13's uniform kernel draws in float32 and rounds
# each number, except that a number that rounds to the top of the range, bound_h (the bound
# rounded to the half type), is replaced by the bottom, -bound_h. Every such number wraps, and every
# weight that differs is such a wrap.
# (Printed on every release, checked from torch 2.13 on only.)
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
half_rounding_checked = release >= (2, 13)
bound = math.sqrt(3) * nn.init.calculate_gain("leaky_relu", math.sqrt(5)) / math.sqrt(300)


def wrapped(weight: torch.Tensor, half_dtype: torch.dtype) -> torch.Tensor:
    """A float32 Linear(300, 64) weight rounded to half_dtype, a bound_h moved to -bound_h."""
    rounded = weight.detach().to(half_dtype)
    bound_h = torch.tensor(bound, dtype=half_dtype)
    rounded[rounded == bound_h] = -bound_h
    return rounded


half_shares, half_wraps, only_edge_wraps = [], [], True
for half_dtype in (torch.float16, torch.bfloat16):
    bound_h = torch.tensor(bound, dtype=half_dtype)
    torch.manual_seed(0)
    rounded = nn.Linear(300, 64).weight.detach().to(half_dtype)
    torch.manual_seed(0)
    wide_half = nn.Linear(300, 64, dtype=half_dtype).weight.detach()
    differs = wide_half != rounded
    half_shares.append(1 - differs.float().mean().item())
    half_wraps.append(int(differs.sum()))
    only_edge_wraps &= bool((rounded[differs] == bound_h).all())
    only_edge_wraps &= bool((wide_half[differs] == -bound_h).all())
    only_edge_wraps &= int(differs.sum()) == int((rounded == bound_h).sum())

# Normal draws (Embedding's) of fewer than 16 numbers, or of a multiple of 16, give the float32
# numbers rounded too, and use up as much of the stream. Any other count, such as the 24 of an
# Embedding(3, 8), gives its last 16 numbers other values: the float32 kernel draws the count + 16
# uniform numbers (40), the half kernel the count rounded up to a multiple of 16 (32). So every
# layer built after it gets other numbers as well.


def embedding_then_linear(shape: tuple[int, int], dtype: torch.dtype) -> tuple:
    """Seed 0, an Embedding of `shape`, then a Linear(300, 64), in `dtype`: their weights and the
    stream's state after the Embedding."""
    torch.manual_seed(0)
    embedding = nn.Embedding(*shape, dtype=dtype).weight.detach().flatten()
    state = torch.get_rng_state()
    return embedding, state, nn.Linear(300, 64, dtype=dtype).weight


def state_after_rand(count: int) -> torch.Tensor:
    """The stream's state after seed 0 and `count` float32 uniform numbers."""
    torch.manual_seed(0)
    torch.rand(count)
    return torch.get_rng_state()


normal_rounded, tail_differs, later_differ, uses_16_blocks = True, True, [], True
for half_dtype in (torch.float16, torch.bfloat16):
    for shape in ((3, 5), (2, 16)):  # 15 and 32 numbers
        wide, wide_state, wide_linear = embedding_then_linear(shape, torch.float32)
        half, half_state, half_linear = embedding_then_linear(shape, half_dtype)
        same_stream = torch.equal(half_state, wide_state)
        normal_rounded &= torch.equal(half, wide.to(half_dtype)) and same_stream
        normal_rounded &= torch.equal(half_linear, wrapped(wide_linear, half_dtype))
    wide, wide_state, wide_linear = embedding_then_linear((3, 8), torch.float32)  # 24 numbers
    half, half_state, half_linear = embedding_then_linear((3, 8), half_dtype)
    differs = half != wide.to(half_dtype)
    tail_differs &= not differs[:8].any().item() and differs[8:].all().item()  # the last 16
    uses_16_blocks &= torch.equal(wide_state, state_after_rand(24 + 16))
    uses_16_blocks &= torch.equal(half_state, state_after_rand(32))
    later_differ.append(int((half_linear != wrapped(wide_linear, half_dtype)).sum()))

# Initialize on the CPU, then move: the same values on every device.
torch.manual_seed(0)
moved = build().to(device)
moved_matches = same_weights(moved, reference)

# Apple's MPS has no float64: a float64 model cannot move there.
if device.type == "mps":
    try:
        build().double().to(device)
        mps_float64 = "no error"
    except TypeError as error:
        mps_float64 = str(error)
    print("float64 model to mps:", mps_float64)
    assert "float64" in mps_float64  # a TypeError that names float64

# Built directly on the device: the values come from that device's generator.
torch.manual_seed(0)
direct = build(device)
direct_matches = same_weights(direct, reference)
if device.type == "cuda":  # manual_seed reseeds every GPU's generator: the same values again
    # The CUDA kernel rounds the range's bounds to the half type first and scales its float32
    # draws by that rounded range: the float32 draws of a range of +-bound_h, rounded (with the
    # same wrap at the top), not the float32 layer's numbers rounded.
    gpu_half_shares, gpu_rounds_bounds_first = [], True
    for half_dtype in (torch.float16, torch.bfloat16):
        bound_h = torch.tensor(bound, dtype=half_dtype).item()
        torch.manual_seed(0)
        float32_rounded = nn.Linear(300, 64, device=device).weight.detach().to(half_dtype)
        torch.manual_seed(0)
        on_gpu_half = nn.Linear(300, 64, device=device, dtype=half_dtype).weight.detach()
        gpu_half_shares.append((on_gpu_half == float32_rounded).float().mean().item())
        torch.manual_seed(0)
        narrow = torch.empty(64, 300, device=device).uniform_(-bound_h, bound_h).to(half_dtype)
        narrow[narrow == bound_h] = -bound_h
        gpu_rounds_bounds_first &= torch.equal(on_gpu_half, narrow)
    print(
        "built on cuda, float16 and bfloat16: share of weights equal to float32 rounded "
        f"{gpu_half_shares[0]:.2f}, {gpu_half_shares[1]:.2f}"
    )
    gpus_reseeded = []
    for index in range(torch.cuda.device_count()):
        torch.manual_seed(0)
        first = build(torch.device("cuda", index))
        torch.manual_seed(0)
        gpus_reseeded.append(same_weights(build(torch.device("cuda", index)), first))

print("same seed, same weights:", same_seed_same_weights)
print("extra layer in front, later layer unchanged:", later_layer_unchanged)
print("two Linear layers in front swapped, later layers unchanged:", swap_keeps_later)
print("Embedding(1, 15) and Linear swapped: later Embedding(3, 1), Linear changed:", odd_swap)
print("Embedding(1, 4) and Linear swapped: later Embedding(3, 1), Linear changed:", even_swap)
print("Embedding(1, 17) and Linear swapped: later Embedding(3, 1), Linear changed:", large_swap)
print(
    "Embedding(1, 1) in front, after an odd draw: Linear layers right after it unchanged:",
    spare_only_keeps_linears,
)
print("  a later Embedding(3, 1) changed:", spare_used_up)
print("LayerNorm, BatchNorm1d and ReLU in front, later layers unchanged:", drawless_shifts_nothing)
print(f"same seed, float32 vs float64 Linear: weights differ by up to {dtype_difference:.2f}")
print("  an Embedding(3, 5), 15 normal numbers: float32 = float64 rounded:", small_rounded)
print(
    "same seed, float16 and bfloat16 layers: share of weights equal to float32 rounded "
    f"{half_shares[0]:.4f}, {half_shares[1]:.4f}"
)
print(
    f"  the others ({half_wraps[0]} and {half_wraps[1]}) each rounded to the top of the "
    "range and became its bottom:",
    only_edge_wraps,
)
print("  Embedding(3, 5) or (2, 16) in front (15, 32 normal numbers): all rounded", normal_rounded)
print("  with Embedding(3, 8) in front: its last 16 numbers differ:", tail_differs)
print(f"    and in the Linear, {later_differ[0]} and {later_differ[1]} of 19200 weights differ")
print(
    "  Embedding(3, 8) used up 40 uniform numbers in float32, 32 in float16 and bfloat16:",
    uses_16_blocks,
)
if not half_rounding_checked:
    print(f"  torch {torch.__version__}: the half-type lines above are not checked on this release")
print(f"built on the CPU, moved to {device.type}: matches the CPU reference:", moved_matches)
print(f"built directly on {device.type}: matches the CPU reference:", direct_matches)

assert same_seed_same_weights  # witness: same-seed-same-weights
assert not later_layer_unchanged and not any_later_unchanged  # witness: extra-layer-shifts-rest
assert swapped_layers_differ and swap_same_state and swap_keeps_later  # witness: swap-keeps-later
spare_shifts = odd_swap == [True, False] and even_swap == large_swap == [False, False]
assert spare_shifts  # witness: spare-normal-shifts
assert spare_only_keeps_linears and spare_used_up  # witness: spare-only-draw-keeps-linears
assert drawless_shifts_nothing  # witness: drawless-layer-shifts-nothing
assert (
    dtype_difference > 0.1
    and no_weight_close
    and default_dtype_like_explicit
    and previous_dtype == torch.float32
)  # witness: dtype-changes-numbers
assert small_rounded  # witness: small-normal-draw-rounded
if half_rounding_checked:
    half_is_rounded = min(half_shares) > 0.99 and half_wraps[1] > 0 and only_edge_wraps
    assert half_is_rounded and normal_rounded  # witness: half-types-round-float32
    most_later_differ = min(later_differ) > 0.99 * 19200
    assert tail_differs and uses_16_blocks and most_later_differ  # witness: half-normal-tail-shifts
if device.type != "cpu":  # only here: on the CPU, .to(device) changes nothing, so it proves nothing
    assert moved_matches  # witness: moved-keeps-cpu-values
if device.type == "cuda":
    assert not direct_matches  # witness: cuda-generator-differs
    assert all(gpus_reseeded)  # witness: seed-resets-device-stream
    assert (
        gpu_rounds_bounds_first and max(gpu_half_shares) < 0.95
    )  # witness: gpu-half-rounds-bounds-first

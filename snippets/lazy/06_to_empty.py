"""From meta to a real device: to_empty allocates storage, reset_parameters fills it."""

import itertools
import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def reset_all(model: nn.Module) -> int:
    """Call reset_parameters on every submodule that has one; return how many did."""
    count = 0
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
            count += 1
    return count


def can_hold_nan(tensor: torch.Tensor) -> bool:
    return tensor.is_floating_point() or tensor.is_complex()  # integer, bool: check by hand


def mark_with_nan(model: nn.Module) -> None:
    """Fill each parameter and buffer that can hold NaN with it, so that one nobody writes shows."""
    with torch.no_grad():
        for tensor in itertools.chain(model.parameters(), model.buffers()):
            if can_hold_nan(tensor):
                tensor.fill_(float("nan"))


def not_written(model: nn.Module) -> str:
    """The parameters and buffers that still hold NaN."""
    tensors = itertools.chain(model.named_parameters(), model.named_buffers())
    return ", ".join(name for name, t in tensors if can_hold_nan(t) and t.isnan().any())


with torch.device("meta"):
    model = build()
count_on_meta = sum(p.numel() for p in model.parameters())
shapes_on_meta = [t.shape for t in model.state_dict().values()]

model.to_empty(device=device)  # real storage on the device, holding whatever bytes were there
count_after_to_empty = sum(p.numel() for p in model.parameters())
shapes_kept = [t.shape for t in model.state_dict().values()] == shapes_on_meta
moved = all(t.device.type == device.type for t in model.state_dict().values())  # buffers too

torch.manual_seed(0)
reset_modules = reset_all(model)  # two Linear layers and the BatchNorm (buffers included)
print(f"parameters on meta: {count_on_meta}, after to_empty: {count_after_to_empty}")
print(f"reset_parameters called on {reset_modules} modules")

norm = model[1]
stats_are_fresh = bool((norm.running_mean == 0).all() and (norm.running_var == 1).all())
tracked_batches = norm.num_batches_tracked.item()
print(
    "BatchNorm running stats back to 0 and 1:", stats_are_fresh, "batches tracked:", tracked_batches
)

# The same seed and the same order of initialization give the same values as building directly.
torch.manual_seed(0)
with torch.device(device):
    direct = build()
same_as_direct = all(
    torch.equal(a, b) for a, b in zip(model.state_dict().values(), direct.state_dict().values())
)
print("identical to a model built directly on the device:", same_as_direct)

# The exception: in deterministic mode, empty_like (so to_empty) fills floating point with NaN.
with torch.device("meta"):
    probe = build()
was_deterministic = torch.are_deterministic_algorithms_enabled()
torch.use_deterministic_algorithms(True)
try:
    probe.to_empty(device=device)
finally:
    torch.use_deterministic_algorithms(was_deterministic)
floating = [t for t in probe.state_dict().values() if t.is_floating_point()]
deterministic_nan = all(t.isnan().all() for t in floating)
print("to_empty in deterministic mode fills every float tensor with NaN:", deterministic_nan)

# The loop has limits. MultiheadAttention (inside every Transformer layer) has no reset_parameters,
# only a private _reset_parameters, and its constructor zeroes the bias of its child out_proj.
mha_has_reset_parameters = hasattr(nn.MultiheadAttention, "reset_parameters")
mha_has_private_reset = hasattr(nn.MultiheadAttention, "_reset_parameters")
built_bias_is_zero = bool((nn.MultiheadAttention(8, 2).out_proj.bias == 0).all())
with torch.device("meta"):
    attention = nn.MultiheadAttention(embed_dim=8, num_heads=2)
attention.to_empty(device=device)
mark_with_nan(attention)
reset_all(attention)  # reaches only the out_proj child
attention_not_written = not_written(attention)
out_bias_is_zero = bool((attention.out_proj.bias == 0).all())
print("MultiheadAttention has reset_parameters:", mha_has_reset_parameters)
print("still NaN after the loop:", attention_not_written)
print(f"out_proj.bias all zero: built {built_bias_is_zero}, after the loop {out_bias_is_zero}")


# A buffer computed in __init__ (a float table here, so NaN can mark it) is not rewritten either.
class WithTable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.register_buffer("table", torch.arange(4.0), persistent=False)


with torch.device("meta"):
    tabled = WithTable()
tabled.to_empty(device=device)
mark_with_nan(tabled)
reset_all(tabled)
table_not_written, saved = not_written(tabled), list(tabled.state_dict())
print("WithTable, still NaN after the loop:", table_not_written, "| in its state_dict:", saved)
with torch.device(device):
    source = WithTable()
load_result = tabled.load_state_dict(source.state_dict())  # every key matches, table is not one
still_not_written_after_load = not_written(tabled)
print("after load_state_dict, missing keys:", load_result.missing_keys, end=" ")
print("| still NaN:", still_not_written_after_load)


# nn.Transformer's constructor redraws every matrix with Xavier after its layers built theirs.
def small_transformer() -> nn.Transformer:
    return nn.Transformer(
        8, 2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16, batch_first=True
    )


torch.manual_seed(0)
direct_transformer = small_transformer()
with torch.device("meta"):
    looped_transformer = small_transformer()
looped_transformer.to_empty(device=device)
mark_with_nan(looped_transformer)
reset_all(looped_transformer)
linear_bound, xavier_bound = 1 / math.sqrt(8), math.sqrt(6 / (8 + 16))  # linear1: 8 -> 16
direct_largest = direct_transformer.encoder.layers[0].linear1.weight.abs().max().item()
xavier_everywhere = all(  # each matrix within its Xavier bound, beyond nn.Linear's own
    1 / math.sqrt(p.shape[1]) < p.abs().max() <= math.sqrt(6 / (p.shape[0] + p.shape[1]))
    for p in direct_transformer.parameters()
    if p.dim() > 1
)
looped_weight = looped_transformer.encoder.layers[0].linear1.weight
looped_largest = looped_weight.abs().max().item()  # NaN if the loop had not written it
print(f"Transformer linear1, largest |weight| as built: {direct_largest:.3f}", end=" ")
print(f"(Xavier's bound {xavier_bound:.3f}, above Linear's own {linear_bound:.3f})")
print("as built, every matrix within its Xavier bound, beyond Linear's:", xavier_everywhere)
print(f"after to_empty and the loop: {looped_largest:.3f}, within Linear's bound")

assert count_on_meta == 10 * 8 + 8 + 8 + 8 + 8 * 3 + 3 == 131
assert count_after_to_empty == count_on_meta
assert shapes_kept  # witness: shapes-kept
assert moved  # witness: to-empty-allocates
assert torch.utils.deterministic.fill_uninitialized_memory
assert deterministic_nan  # witness: deterministic-fills-nan
assert reset_modules == 3
assert stats_are_fresh and tracked_batches == 0  # witness: stats-reset
assert same_as_direct  # witness: same-as-direct
assert not mha_has_reset_parameters and mha_has_private_reset  # witness: mha-private-reset
assert attention_not_written == "in_proj_weight, in_proj_bias"  # witness: mha-not-written
assert table_not_written == "table"  # witness: buffer-not-written
assert "table" not in saved
assert (  # witness: non-persistent-not-saved
    not load_result.missing_keys and still_not_written_after_load == "table"
)
assert built_bias_is_zero and not out_bias_is_zero  # witness: out-proj-rerandomized
assert linear_bound < direct_largest <= xavier_bound
assert xavier_everywhere  # witness: transformer-xavier
assert (  # witness: loop-not-xavier
    looped_weight.isfinite().all() and linear_bound / 2 < looped_largest <= linear_bound
)

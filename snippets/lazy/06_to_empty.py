"""From meta to a real device: to_empty allocates storage, reset_parameters fills it."""

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


with torch.device("meta"):
    model = build()
count_on_meta = sum(p.numel() for p in model.parameters())

model.to_empty(device=device)  # real storage on the device, holding whatever bytes were there
count_after_to_empty = sum(p.numel() for p in model.parameters())
moved = all(t.device.type == device.type for t in model.state_dict().values())

torch.manual_seed(0)
reset_modules = reset_all(
    model
)  # two Linear layers and the BatchNorm (which also resets its buffers)
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

# The loop has limits. MultiheadAttention (inside every Transformer layer) has no reset_parameters,
# only a private _reset_parameters, and its constructor zeroes the bias of its child out_proj.
mha_has_reset_parameters = hasattr(nn.MultiheadAttention, "reset_parameters")
with torch.device("meta"):
    attention = nn.MultiheadAttention(embed_dim=8, num_heads=2)
attention.to_empty(device=device)
with torch.no_grad():  # mark every tensor with NaN, so that one nobody writes stays visible
    for tensor in attention.parameters():
        tensor.fill_(float("nan"))
reset_all(attention)  # reaches only the out_proj child
not_written = ", ".join(name for name, p in attention.named_parameters() if p.isnan().any())
out_bias_is_zero = bool((attention.out_proj.bias == 0).all())  # a direct build has zeros here
print("MultiheadAttention has reset_parameters:", mha_has_reset_parameters)
print("still NaN after the loop:", not_written, "| out_proj.bias zero as built:", out_bias_is_zero)

assert count_on_meta == count_after_to_empty == 10 * 8 + 8 + 8 + 8 + 8 * 3 + 3 == 131
assert moved and reset_modules == 3 and stats_are_fresh and tracked_batches == 0
assert same_as_direct
assert not mha_has_reset_parameters and not out_bias_is_zero
assert not_written == "in_proj_weight, in_proj_bias"

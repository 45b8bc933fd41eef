"""A state_dict maps dotted paths to tensors: parameters and buffers, named by the module tree."""

import collections
import copy

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()
        )
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


model = Classifier()
state = model.state_dict()
for key, tensor in state.items():
    print(f"{key:33} {str(tuple(tensor.shape)):7} {tensor.dtype}")

parameter_names = {name for name, _ in model.named_parameters()}
buffer_names = [key for key in state if key not in parameter_names]
key_count = len(state)
parameter_tensor_count = len(parameter_names)
buffer_count = len(buffer_names)
buffers = ", ".join(buffer_names)
print(
    f"{key_count} entries: {parameter_tensor_count} parameters and {buffer_count} buffers",
    f"({buffers})",
)

# By default the entries are new, detached tensors on the live memory, not copies.
live = {**dict(model.named_parameters()), **dict(model.named_buffers())}
all_detached_on_live_memory = all(
    state[key] is not live[key]
    and state[key].data_ptr() == live[key].data_ptr()
    and not state[key].requires_grad
    for key in state
)
entry = state["head.bias"]
mean_entry = state["backbone.1.running_mean"]  # a buffer's entry
# They are made by detach(), not .data: an entry shares the live tensor's version counter.
bias_data = model.head.bias.data
versions_before = entry._version, bias_data._version, mean_entry._version
with torch.no_grad():  # in-place changes that leave the values as they are
    model.head.bias.add_(0.0)
    model.backbone[1].running_mean.add_(0.0)
versions_after = entry._version, bias_data._version, mean_entry._version
entry_shares_counter = versions_after == (
    versions_before[0] + 1,
    versions_before[1],
    versions_before[2] + 1,
)
entry_is_parameter = isinstance(entry, nn.Parameter)
keep_vars_gives_parameter = model.state_dict(keep_vars=True)["head.bias"] is model.head.bias
cloned = {key: value.clone() for key, value in state.items()}  # real copies
deep_copied = copy.deepcopy(state)  # real copies too

# An optimizer step changes the model in place after the state_dict was taken ...
torch.manual_seed(0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model(torch.randn(4, 4)).sum().backward()
optimizer.step()
bias_moved = not torch.equal(cloned["head.bias"], model.head.bias)
entry_follows_model = torch.equal(entry, model.head.bias)  # ... and the earlier state_dict too
copies_kept_old_values = torch.equal(cloned["head.bias"], deep_copied["head.bias"]) and not (
    torch.equal(cloned["head.bias"], model.head.bias)
)
print("every entry detached, on the live memory:", all_detached_on_live_memory, end=";  ")
print("shares the live version counter:", entry_shares_counter)
print("head.bias entry follows an optimizer step:", entry_follows_model)
print("clone() and deepcopy kept the old values:", copies_kept_old_values)

# A conversion that changes the dtype gives the floating-point tensors new memory: from then on
# their earlier entries no longer follow the model. The integer num_batches_tracked keeps its own.
model.double()
converted = model.state_dict()
moved = {key for key in state if converted[key].data_ptr() != state[key].data_ptr()}
floating = {key for key, value in state.items() if value.is_floating_point()}
new_memory = moved == floating
before = {key: value.clone() for key, value in state.items()}
with torch.no_grad():
    for value in converted.values():
        value.add_(1)  # every live tensor of the model, the integer counter too
followers = {key for key in state if not torch.equal(state[key], before[key])}
follows_after_double = bool(followers & floating)
counter_follows = followers == {"backbone.1.num_batches_tracked"}
print("after model.double(), new memory for", len(moved), "of", len(state), "entries")
print("  earlier entries that still follow the model:", ", ".join(sorted(followers)))

# A move to another device leaves the earlier entries behind too. The "meta" device (shapes, no
# data) shows it on any machine.
layer = nn.Linear(2, 2)
layer_entry = layer.state_dict()["bias"]
layer.to("meta")
left_behind = (layer.bias.device.type, layer_entry.device.type) == ("meta", "cpu")
print("after .to('meta'): the parameter on meta, the earlier entry still on the CPU:", left_behind)

# A lazy layer's parameter or buffer that has no shape yet is returned as is, not detached.
lazy, lazy_norm = nn.LazyLinear(3), nn.LazyBatchNorm1d()
lazy_tensors = [(lazy, "weight"), (lazy_norm, "running_mean")]
as_is_before = all(m.state_dict()[name] is getattr(m, name) for m, name in lazy_tensors)
lazy(torch.randn(2, 4))  # the first input gives the tensors their shapes
lazy_norm(torch.randn(2, 4))
detached_after = all(  # detached tensors on the live memory, as for other layers
    lazy_entry is not lazy_live
    and not lazy_entry.requires_grad
    and lazy_entry.data_ptr() == lazy_live.data_ptr()
    for lazy_entry, lazy_live in (
        (m.state_dict()[name], getattr(m, name)) for m, name in lazy_tensors
    )
)
print("lazy layers before their first input: the entries are the tensors themselves:", end=" ")
print(as_is_before, "| after it, new detached ones:", detached_after)

first_key = next(iter(state))
assert isinstance(state, collections.OrderedDict)  # witness: ordered-dict
assert first_key == "backbone.0.weight"
assert list(state)[-2:] == ["head.weight", "head.bias"]
assert (key_count, parameter_tensor_count, buffer_count) == (11, 8, 3)
assert buffers == "backbone.1.running_mean, backbone.1.running_var, backbone.1.num_batches_tracked"
assert all_detached_on_live_memory and entry_shares_counter  # witness: detached-same-memory
assert as_is_before and detached_after  # witness: lazy-entry-as-is
assert not entry_is_parameter and keep_vars_gives_parameter  # witness: keep-vars-parameters
assert bias_moved and entry_follows_model  # witness: follows-optimizer-step
assert copies_kept_old_values  # witness: copies-keep-values
assert new_memory  # witness: conversion-new-memory
assert not follows_after_double and entry.dtype == torch.float32  # witness: stops-following
assert counter_follows  # witness: integer-buffer-follows
assert left_behind  # witness: move-leaves-entries-behind

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

# .float() on a model that is float32 already changes nothing: same memory, entries follow.
model.float()
float_kept_memory = model.head.bias.data_ptr() == entry.data_ptr()
with torch.no_grad():
    model.head.bias.fill_(1.0)
follows_after_float = bool(torch.all(entry == 1.0))
print("after model.float() on float32, the earlier entry follows the model:", follows_after_float)

# A conversion that changes the dtype keeps each Parameter object but gives it new memory: from
# then on the earlier entries no longer follow it. It converts floating-point tensors only.
bias_object = model.head.bias
model.double()
kept_object = model.head.bias is bias_object
new_memory = model.head.bias.data_ptr() != entry.data_ptr()
with torch.no_grad():
    model.head.bias.fill_(2.0)
follows_after_double = bool(torch.all(entry == 2.0))
print("after model.double(), the earlier entry follows the model:", follows_after_double)
counter = model.backbone[1].num_batches_tracked  # an integer buffer: .double() leaves it alone
counter_entry = state["backbone.1.num_batches_tracked"]
counter_kept_memory = counter.dtype == torch.long and counter.data_ptr() == counter_entry.data_ptr()
counter.add_(1)
counter_follows = torch.equal(counter_entry, counter)
print("the earlier num_batches_tracked entry still follows the model:", counter_follows)

# A move to another device leaves the earlier entries behind too. The "meta" device (shapes, no
# data) shows it on any machine; by default it replaces the Parameter objects, which a move to
# CUDA does not (that one replaces each Parameter's .data, checked where CUDA is available).
layer = nn.Linear(2, 2)
layer_bias = layer.bias
layer_entry = layer.state_dict()["bias"]
layer.to("meta")
left_behind = (layer.bias.device.type, layer_entry.device.type) == ("meta", "cpu")
meta_new_object = layer.bias is not layer_bias
print("after .to('meta'): the parameter on meta, the earlier entry still on the CPU:", left_behind)
print("after .to('meta'): a new Parameter object:", meta_new_object)

# load_state_dict copies values into the live memory. With assign=True it puts the checkpoint's
# own tensors in, wrapped in new Parameter objects: an optimizer made before holds the old ones.
loaded = nn.Linear(2, 2)
loaded_entry = loaded.state_dict()["bias"]
checkpoint = {"weight": torch.zeros(2, 2), "bias": torch.full((2,), 7.0)}
loaded.load_state_dict(checkpoint)
follows_after_load = torch.equal(loaded_entry, checkpoint["bias"])  # the new values, in place
old_bias = loaded.bias
optimizer_before = torch.optim.SGD(loaded.parameters(), lr=0.1)
checkpoint = {"weight": torch.ones(2, 2), "bias": torch.full((2,), 8.0)}
loaded.load_state_dict(checkpoint, assign=True)
assign_left_behind = loaded.bias.data_ptr() != loaded_entry.data_ptr()
assign_left_behind = assign_left_behind and not torch.equal(loaded_entry, loaded.bias)
new_object = isinstance(loaded.bias, nn.Parameter) and loaded.bias is not old_bias
checkpoint_memory = loaded.bias.data_ptr() == checkpoint["bias"].data_ptr()
optimizer_params = optimizer_before.param_groups[0]["params"]
optimizer_has_old = optimizer_params[1] is old_bias
optimizer_has_old = optimizer_has_old and all(p is not loaded.bias for p in optimizer_params)
print("the earlier entry follows: load_state_dict", follows_after_load, end=",  ")
print("with assign=True", not assign_left_behind)
print("assign=True: a new Parameter", new_object, " on the checkpoint's memory", checkpoint_memory)
print("  an optimizer made before the call holds the old Parameter:", optimizer_has_old)
# A dictionary fresh from another model's state_dict() holds that model's memory: after such a
# load the two models share their weights, and a step on either moves the other.
twin_a, twin_b = nn.Linear(2, 2), nn.Linear(2, 2)
twin_b.load_state_dict(twin_a.state_dict(), assign=True)
twins_move_together = []
for trained, other in ((twin_b, twin_a), (twin_a, twin_b)):
    other_before = other.weight.detach().clone()
    trained(torch.ones(1, 2)).sum().backward()
    torch.optim.SGD(trained.parameters(), lr=0.1).step()
    moved = not torch.equal(other.weight, other_before)
    twins_move_together.append(moved and torch.equal(other.weight, trained.weight))
print("  loaded from another model's state_dict(): a step on either moves the other:", end=" ")
print(twins_move_together == [True, True])

# From state_dict(keep_vars=True), assign=True puts the very Parameter objects of the source in,
# and sets their requires_grad to the target's: loading into a frozen layer freezes the source.
source = nn.Linear(2, 2)
frozen_target = nn.Linear(2, 2).requires_grad_(False)
frozen_target.load_state_dict(source.state_dict(keep_vars=True), assign=True)
same_objects = frozen_target.weight is source.weight and frozen_target.bias is source.bias
source_frozen = not any(p.requires_grad for p in source.parameters())
print("keep_vars=True, assign=True: the source's objects", same_objects, end=",  ")
print("now frozen in the source too", source_frozen)

# With the swap switch on, assign=True keeps the module's own Parameter objects instead, from
# either kind of dictionary, and a keep_vars source's Parameters stay out of it, still training,
# though the module's own now use their memory.
swap_was_on = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    swapped, eights = nn.Linear(2, 2), torch.full((2,), 8.0)
    swapped_bias = swapped.bias
    plain_source = {"weight": torch.ones(2, 2), "bias": eights.clone()}
    swapped.load_state_dict(plain_source, assign=True)
    swap_source = nn.Linear(2, 2)
    swap_target = nn.Linear(2, 2).requires_grad_(False)
    own_parameters = list(swap_target.parameters())
    swap_target.load_state_dict(swap_source.state_dict(keep_vars=True), assign=True)
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_was_on)  # the setting is global
swap_kept_object = swapped.bias is swapped_bias and torch.equal(swapped.bias, eights)
swap_kept_object &= swapped.bias.data_ptr() == plain_source["bias"].data_ptr()  # its memory
kept = zip(swap_target.parameters(), own_parameters, swap_source.parameters(), strict=True)
swap_kept_own = all(now is own and now is not other for now, own, other in kept)
swap_spares_source = all(p.requires_grad for p in swap_source.parameters())
swap_memory = [p.data_ptr() for p in swap_target.parameters()]
swap_shares = swap_memory == [p.data_ptr() for p in swap_source.parameters()]
print("swap switch on, assign=True: the module's own Parameter kept", swap_kept_object, end=",  ")
print(f"from keep_vars=True too {swap_kept_own},", end=" ")
print(f"the source still training {swap_spares_source}, its memory used {swap_shares}")

first_key = next(iter(state))
assert isinstance(state, collections.OrderedDict)  # witness: ordered-dict
assert first_key == "backbone.0.weight"
assert list(state)[-2:] == ["head.weight", "head.bias"]
assert (key_count, parameter_tensor_count, buffer_count) == (11, 8, 3)
assert buffers == "backbone.1.running_mean, backbone.1.running_var, backbone.1.num_batches_tracked"
assert all_detached_on_live_memory and entry_shares_counter  # witness: detached-same-memory
assert not entry_is_parameter and keep_vars_gives_parameter  # witness: keep-vars-parameters
assert bias_moved and entry_follows_model  # witness: follows-optimizer-step
assert copies_kept_old_values  # witness: copies-keep-values
assert float_kept_memory and follows_after_float  # witness: same-dtype-keeps-memory
assert kept_object and new_memory  # witness: conversion-new-memory
assert not follows_after_double and entry.dtype == torch.float32  # witness: stops-following
assert counter_kept_memory and counter_follows  # witness: integer-buffer-follows
assert left_behind  # witness: move-leaves-entries-behind
assert meta_new_object  # witness: meta-replaces-object
assign_replaces = new_object and checkpoint_memory and optimizer_has_old
assign_replaces = assign_replaces and twins_move_together == [True, True]
assert follows_after_load and assign_left_behind  # witness: assign-leaves-entries-behind
assert assign_replaces  # witness: assign-puts-checkpoint-tensors
assert same_objects and source_frozen  # witness: assign-keep-vars-same-objects
swap_keeps = swap_kept_object and swap_kept_own and swap_spares_source and swap_shares
assert swap_keeps  # witness: swap-keeps-objects
if torch.cuda.is_available():
    cuda_layer = nn.Linear(2, 2)
    cuda_bias, cuda_entry = cuda_layer.bias, cuda_layer.state_dict()["bias"]
    cuda_layer.to("cuda")
    # The same object, on CUDA: its .data was replaced, and the earlier entry stays on the CPU.
    cuda_kept = cuda_layer.bias is cuda_bias and cuda_bias.is_cuda
    assert cuda_kept and cuda_entry.device.type == "cpu"  # witness: cuda-keeps-object

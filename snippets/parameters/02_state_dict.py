"""A state_dict maps dotted paths to tensors: parameters and buffers, named by the module tree."""

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

# The entries are detached views of the live tensors, not copies.
entry = state["head.bias"]
shares_memory = entry.data_ptr() == model.head.bias.data_ptr()
entry_requires_grad = entry.requires_grad
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
print(
    "same memory:",
    shares_memory,
    " requires_grad:",
    entry_requires_grad,
    " follows an optimizer step:",
    entry_follows_model,
)
print("clone() and deepcopy kept the old values:", copies_kept_old_values)

# Converting the model keeps each Parameter object but gives it new memory: from then on the
# earlier entries no longer follow it.
bias_object = model.head.bias
model.double()
kept_object = model.head.bias is bias_object
new_memory = model.head.bias.data_ptr() != entry.data_ptr()
with torch.no_grad():
    model.head.bias.fill_(2.0)
follows_after_double = bool(torch.all(entry == 2.0))
print("after model.double(), the earlier entry follows the model:", follows_after_double)

# A move to another device leaves the earlier entries behind too. The "meta" device (shapes, no
# data) shows it on any machine.
layer = nn.Linear(2, 2)
layer_entry = layer.state_dict()["bias"]
layer.to("meta")
left_behind = (layer.bias.device.type, layer_entry.device.type) == ("meta", "cpu")
print("after .to('meta'): the parameter on meta, the earlier entry still on the CPU:", left_behind)

first_key = next(iter(state))
assert first_key == "backbone.0.weight"
assert list(state)[-2:] == ["head.weight", "head.bias"]
assert (key_count, parameter_tensor_count, buffer_count) == (11, 8, 3)
assert buffers == "backbone.1.running_mean, backbone.1.running_var, backbone.1.num_batches_tracked"
assert shares_memory and not entry_requires_grad  # witness: detached-same-memory
assert bias_moved and entry_follows_model  # witness: follows-optimizer-step
assert copies_kept_old_values  # witness: copies-keep-values
assert kept_object and new_memory  # witness: conversion-new-memory
assert not follows_after_double and entry.dtype == torch.float32  # witness: stops-following
assert left_behind  # witness: move-leaves-entries-behind

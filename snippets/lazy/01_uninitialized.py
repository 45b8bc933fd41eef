"""A model of LazyLinear layers holds UninitializedParameters until its first forward pass."""

import io
import pickle

import torch
from torch import nn

model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
first = model[0]
print(model)

# The placeholder knows its dtype, device and requires_grad, but not its shape.
weight_type = type(first.weight).__name__
in_features_before = first.in_features
print(f"first.weight is {first.weight!r} ({weight_type}), in_features = {in_features_before}")
print(
    f"dtype {first.weight.dtype}, device {first.weight.device}, "
    f"requires_grad {first.weight.requires_grad}"
)

# Anything that needs the shape or the values fails.
try:
    sum(p.numel() for p in model.parameters())
except ValueError as error:
    numel_message = str(error)
    print(f"counting: {type(error).__name__}: {numel_message[:70]}...")
try:
    first.weight.shape
except RuntimeError as error:
    shape_message = str(error)
    print(f"shape:    {type(error).__name__}: {shape_message[:70]}...")

# state_dict() does not fail: it hands back the placeholders, and the failure comes later.
state = model.state_dict()
state_entries = len(state)
state_types = sorted({type(value).__name__ for value in state.values()})
print(f"state_dict holds {state_entries} entries of type {state_types}")
buffer = io.BytesIO()
torch.save(state, buffer)  # saving works...
buffer.seek(0)
try:
    torch.load(buffer)  # ...but loading with the default weights_only=True does not
except pickle.UnpicklingError as error:
    load_message = str(error)
    print(f"loading:  {type(error).__name__}: {load_message.splitlines()[0][:70]}...")
buffer.seek(0)
old_default = torch.load(
    buffer, weights_only=False
)  # the default before PyTorch 2.6; trusted files only
old_default_types = sorted({type(value).__name__ for value in old_default.values()})
print("loading with weights_only=False gives back:", old_default_types)

assert weight_type == "UninitializedParameter" and in_features_before == 0
assert first.weight.dtype == torch.float32 and first.weight.requires_grad  # witness: knows
assert numel_message.startswith("Attempted to use an uninitialized")  # witness: numel-fails
assert shape_message.startswith("Can't access the shape")  # witness: shape-fails
assert state_types == ["UninitializedParameter"]  # witness: state-placeholders
assert state_entries == 4
assert load_message.startswith("Weights only load failed")  # witness: load-refuses
assert old_default_types == ["UninitializedParameter"]  # witness: old-load-placeholders

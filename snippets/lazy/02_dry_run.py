"""One forward pass (the "dry run") gives every lazy layer its shape and turns it into nn.Linear."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
model.to(device)  # move first: the parameters are then created on the right device
lazy_layer, placeholder = model[0], model[0].weight

with torch.no_grad():  # the dry run only needs shapes, not a graph for backward
    model(torch.zeros(2, 20, device=device))  # a batch of 2 examples with 20 features
print(model)

first, last = model[0], model[2]
layer_type = type(first).__name__
weight_type = type(first.weight).__name__
same_object = first is lazy_layer and first.weight is placeholder
first_weight_shape = tuple(first.weight.shape)
last_weight_shape = tuple(last.weight.shape)
parameter_count = sum(p.numel() for p in model.parameters())
print(
    f"layer type {layer_type}, weight type {weight_type}, "
    f"same Python objects as before: {same_object}"
)
print(f"weights {first_weight_shape} and {last_weight_shape}, {parameter_count} parameters")
print("on", first.weight.device, "and trainable:", first.weight.requires_grad)

# The dry run must go through model(...): calling forward() directly skips the hook
# that materializes.
try:
    nn.LazyLinear(3).forward(torch.zeros(2, 20))
except ValueError as error:
    direct_forward_message = str(error)
    print(f"forward() called directly: {type(error).__name__}: {direct_forward_message[:45]}...")

# The input size is now fixed: another width is an ordinary shape error.
try:
    model(torch.zeros(2, 30, device=device))
except RuntimeError as error:
    wrong_width_message = str(error)
    print(f"{type(error).__name__}: {wrong_width_message}")

assert layer_type == "Linear" and weight_type == "Parameter" and same_object
assert isinstance(first, nn.Linear) and first.in_features == 20 and last.in_features == 256
assert first_weight_shape == (256, 20) and last_weight_shape == (10, 256)
assert parameter_count == 20 * 256 + 256 + 256 * 10 + 10 == 7946
assert first.weight.device.type == device.type and first.weight.requires_grad
assert "cannot be multiplied" in wrong_width_message
assert direct_forward_message.startswith("Attempted to use an uninitialized parameter")

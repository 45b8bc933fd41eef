"""Three ways to reach a parameter (by index, by name while iterating, by its dotted path), what
a module registers as its own, and what a parameter is: a tensor that asks for gradients."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

# By index: a Sequential is indexed like a list, and a Linear keeps its tensors as attributes.
weight = model[0].weight
print(type(weight).__name__, tuple(weight.shape), "requires_grad =", weight.requires_grad)

# By name: named_parameters() walks the submodules and yields (dotted path, parameter) pairs.
for name, parameter in model.named_parameters():
    print(f"{name:8} {str(tuple(parameter.shape)):7} {parameter.numel():2} numbers")

# By path: get_parameter() follows the same dotted path back to the tensor.
bias = model.get_parameter("2.bias")
print("get_parameter('2.bias') is model[2].bias:", bias is model[2].bias)

try:
    model.get_parameter("1.weight")  # index 1 is the ReLU, which owns no parameters
except AttributeError as error:
    missing_message = f"{type(error).__name__}: {error}"
    print(missing_message)

# Assigning a Parameter to a module's attribute registers it under that name.
scaled = nn.Module()
scaled.scale = nn.Parameter(torch.ones(1))  # the module's own
scaled.inner = nn.Linear(2, 2)  # a child, with two parameters
scale_registered = dict(scaled.named_parameters())["scale"] is scaled.scale
# parameters(recurse=False) lists a module's own parameters and none of its children's.
own_only = list(scaled.parameters(recurse=False))
scaled_total = len(list(scaled.parameters()))
print("parameters(recurse=False):", len(own_only), "tensor;  with the child's:", scaled_total)

# An integer tensor cannot require grad, so an integer parameter must say requires_grad=False.
try:
    nn.Parameter(torch.zeros(1, dtype=torch.long))
except RuntimeError as error:
    integer_message = str(error)
    print("integer parameter:", integer_message)
integer_parameter = nn.Parameter(torch.zeros(1, dtype=torch.long), requires_grad=False)

# Linear stores one row per output, (out_features, in_features), and so computes x @ W.T + b.
x = torch.randn(2, 4)
computes_x_wt_plus_b = torch.allclose(model[0](x), x @ weight.T + model[0].bias)

weight_type = type(weight).__name__
weight_shape = tuple(weight.shape)
names = ", ".join(name for name, _ in model.named_parameters())
tensor_count = len(list(model.parameters()))
relu_parameter_count = len(list(model[1].parameters()))
own_parameter_count = len(list(model.parameters(recurse=False)))

assert isinstance(weight, nn.Parameter) and isinstance(weight, torch.Tensor)  # witness: is-tensor
assert weight_type == "Parameter"
assert weight.requires_grad and nn.Parameter(torch.zeros(1)).requires_grad  # witness: asks-grad
assert weight_shape == (8, 4)  # Linear(4, 8) stores (out_features, in_features)
assert computes_x_wt_plus_b  # witness: x-wt-plus-b
assert names == "0.weight, 0.bias, 2.weight, 2.bias"
assert (tensor_count, relu_parameter_count, own_parameter_count) == (4, 0, 0)
assert scale_registered  # witness: assignment-registers
assert (  # witness: recurse-false-own-only
    len(own_only) == 1 and own_only[0] is scaled.scale and scaled_total == 3
)
assert bias is model[2].bias  # witness: get-parameter-same-tensor
assert (  # witness: three-ways-same-tensor
    dict(model.named_parameters())["0.weight"] is model.get_parameter("0.weight") is model[0].weight
)
assert missing_message.startswith("AttributeError") and "weight" in missing_message
assert "ReLU" in missing_message and "has no attribute" in missing_message  # witness: relu-message
assert integer_message.startswith("Only Tensors of floating point")  # witness: integer-no-grad
assert not integer_parameter.requires_grad

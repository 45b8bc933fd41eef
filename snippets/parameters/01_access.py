"""Three ways to reach a parameter: by index, by name while iterating, and by its dotted path."""

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

# Reading values: detach() gives a tensor that autograd does not track; the numbers are shared.
values = model[2].bias.detach()
print("output bias:", values)

try:
    model.get_parameter("1.weight")  # index 1 is the ReLU, which owns no parameters
except AttributeError as error:
    missing_message = f"{type(error).__name__}: {error}"
    print(missing_message)

weight_type = type(weight).__name__
weight_shape = tuple(weight.shape)
names = ", ".join(name for name, _ in model.named_parameters())
tensor_count = len(list(model.parameters()))
relu_parameter_count = len(list(model[1].parameters()))
own_parameter_count = len(list(model.parameters(recurse=False)))

assert isinstance(weight, nn.Parameter) and isinstance(weight, torch.Tensor)
assert weight_type == "Parameter" and weight.requires_grad
assert weight_shape == (8, 4)  # Linear(4, 8) stores (out_features, in_features)
assert names == "0.weight, 0.bias, 2.weight, 2.bias"
assert (tensor_count, relu_parameter_count, own_parameter_count) == (4, 0, 0)
assert bias is model[2].bias
assert not values.requires_grad and values.data_ptr() == model[2].bias.data_ptr()
assert missing_message.startswith("AttributeError") and "weight" in missing_message

"""Tensor.to() returns a new tensor, leaving the original alone; Module.to() changes the module."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

model = nn.Linear(3, 2)
module_to_returns_self = model.to(device) is model  # Module.to works in place (and returns self)

torch.manual_seed(0)
x = torch.randn(4, 3)
x.to(torch.float64)  # the mistake: the converted copy is thrown away
dtype_after_unassigned_to = str(x.dtype)
print("Module.to returns the same module:", module_to_returns_self)
print("x.dtype after x.to(torch.float64) without assignment:", dtype_after_unassigned_to)

# The same mistake with a device: on a CPU-only machine it goes unnoticed, because to() returns
# the tensor itself when nothing needs to change. On a GPU the forward pass fails.
x.to(device)
on_model_device = x.device == model.weight.device
print(f"model on {model.weight.device.type}, x on {x.device.type}: same device? {on_model_device}")
print("x.to('cpu') is x:", x.to("cpu") is x)

x = x.to(device)  # the fix: keep what to() returns
output_shape = tuple(model(x).shape)
print("after x = x.to(device): output shape", output_shape)

assert module_to_returns_self and dtype_after_unassigned_to == "torch.float32"
assert on_model_device == (device.type == "cpu")
assert output_shape == (4, 2)

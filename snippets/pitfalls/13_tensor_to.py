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
converted = x.to(torch.float64)  # what to() returns: another tensor
new_tensor = converted is not x and converted.dtype == torch.float64
print("Module.to returns the same module:", module_to_returns_self)
print("x.dtype after x.to(torch.float64) without assignment:", dtype_after_unassigned_to)

# The same mistake with a device: on a CPU-only machine it goes unnoticed, because to() returns
# the tensor itself when nothing needs to change. On a GPU the forward pass fails.
x.to(device)
on_model_device = x.device == model.weight.device
print(f"model on {model.weight.device.type}, x on {x.device.type}: same device? {on_model_device}")
same_when_nothing_changes = x.to("cpu") is x
copy_requested = x.to("cpu", copy=True)  # copy=True always returns a new tensor
copy_is_new = copy_requested is not x and copy_requested.data_ptr() != x.data_ptr()
print(
    "x.to('cpu') is x:", same_when_nothing_changes, " x.to('cpu', copy=True) is x:", not copy_is_new
)

x = x.to(device)  # the fix: keep what to() returns
output_shape = tuple(model(x).shape)
print("after x = x.to(device): output shape", output_shape)

assert module_to_returns_self and model.weight.device.type == device.type  # witness: module-to
assert new_tensor and dtype_after_unassigned_to == "torch.float32"  # witness: tensor-to-new
assert same_when_nothing_changes  # witness: same-when-nothing-changes
assert copy_is_new  # witness: copy-true-new
assert on_model_device == (device.type == "cpu")  # witness: unassigned-device
assert output_shape == (4, 2)

"""Tensor.to() returns a new tensor, leaving the original alone; Module.to() changes the module."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

model = nn.Linear(3, 2)
model.to(device)  # Module.to works in place: no assignment needed

# Module.to changes the module's own parameters: after a conversion to float64 (kept on the CPU)
# the layer and its weight are the same objects as before, holding float64 values now.
layer = nn.Linear(3, 2)
weight = layer.weight
returned = layer.to(torch.float64)
module_converted_in_place = returned is layer and layer.weight is weight
print("Module.to returns the same module, with the same weight object:", module_converted_in_place)
print("its weight is now", layer.weight.dtype)

torch.manual_seed(0)
x = torch.randn(4, 3)
x.to(torch.float64)  # the mistake: the converted copy is thrown away
dtype_after_unassigned_to = str(x.dtype)
converted = x.to(torch.float64)  # what to() returns: another tensor
new_tensor = converted is not x and converted.dtype == torch.float64
print("x.dtype after x.to(torch.float64) without assignment:", dtype_after_unassigned_to)

# The same mistake with a device. The meta device (shapes and dtypes, no data) shows it anywhere:
meta_model = nn.Linear(3, 2)
meta_model.to("meta")
x.to("meta")  # the mistake again
meta_devices = (meta_model.weight.device.type, x.device.type)
print(f"after model.to('meta'), x.to('meta'): model on {meta_devices[0]}, x on {meta_devices[1]}")

# With a real accelerator the mistake goes unnoticed on a CPU-only machine, because to() returns
# the tensor itself when nothing needs to change. On a GPU the forward pass fails.
x.to(device)
x_device = x.device.type
on_model_device = x.device == model.weight.device
print(f"model on {model.weight.device.type}, x on {x_device}: same device? {on_model_device}")
same_when_nothing_changes = x.to("cpu") is x
copy_requested = x.to("cpu", copy=True)  # copy=True always returns a new tensor
copy_is_new = copy_requested is not x and copy_requested.data_ptr() != x.data_ptr()
print(
    "x.to('cpu') is x:", same_when_nothing_changes, " x.to('cpu', copy=True) is x:", not copy_is_new
)

x = x.to(device)  # the fix: keep what to() returns
output_shape = tuple(model(x).shape)
print("after x = x.to(device): output shape", output_shape)

converted_float64 = layer.weight.dtype == torch.float64
assert module_converted_in_place and converted_float64  # witness: module-to
assert new_tensor and dtype_after_unassigned_to == "torch.float32"  # witness: tensor-to-new
assert meta_devices == ("meta", "cpu")  # witness: unassigned-meta
assert same_when_nothing_changes  # witness: same-when-nothing-changes
assert copy_is_new  # witness: copy-true-new
if device.type == "cuda":
    assert (x_device, model.weight.device.type) == ("cpu", "cuda")  # witness: unassigned-device
assert output_shape == (4, 2)

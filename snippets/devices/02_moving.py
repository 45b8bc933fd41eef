"""tensor.to() returns a tensor and leaves the original alone; module.to() moves the module."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
x = torch.randn(2, 3)

# "meta" is a device that every machine has: it keeps shapes and dtypes, but no values.
# Moving to it is a real move, so it shows what .to() does whatever hardware you have.
x.to("meta")  # the result is thrown away ...
x_stayed_on_cpu = x.device.type == "cpu"  # ... and x has not moved
x_meta = x.to("meta")  # keep the result instead
print("after x.to('meta'):", x.device, "| x_meta:", x_meta.device)

# To the device it is already on, .to() returns the very same tensor, not a copy.
same_device_is_same_tensor = x.to(x.device) is x
copy_is_new_tensor = x.to(x.device, copy=True) is not x
x_on_device = x.to(device)
print("x.to(x.device) is x:", same_device_is_same_tensor)
print(f"x.to({device}) is x:", x_on_device is x)

model = nn.Linear(3, 2)
weight = model.weight
returned = model.to(device)  # moves every parameter and buffer, in place
returned_is_model = returned is model
weight_is_same_parameter = model.weight is weight
parameter_device = next(model.parameters()).device
print("model.to(device) is model:", returned_is_model)
print("model.weight is the same Parameter object:", weight_is_same_parameter)
print("parameters are on:", parameter_device)

try:
    model.device  # a module has no single device: its tensors could be on several
except AttributeError as error:
    no_device_attribute = f"{type(error).__name__}: {error}"
print(no_device_attribute)

assert x_stayed_on_cpu and x_meta.device.type == "meta" and x_meta.shape == x.shape
assert same_device_is_same_tensor and copy_is_new_tensor
assert (x_on_device is x) == (device.type == "cpu")
assert torch.equal(x_on_device.cpu(), x)
assert returned_is_model and weight_is_same_parameter
assert parameter_device.type == device.type
assert (
    no_device_attribute.startswith("AttributeError")
    and "no attribute 'device'" in no_device_attribute
)

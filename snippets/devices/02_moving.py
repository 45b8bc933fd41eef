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
print("after x.to('meta'):", x.device, "| x_meta:", x_meta.device, tuple(x_meta.shape))
try:
    x_meta.tolist()
except NotImplementedError as error:
    meta_values = f"{type(error).__name__}: {error}"
print("reading the values of x_meta:", meta_values)

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
kept_on_move = model.weight is weight
model.to(torch.float64)  # a dtype change is a conversion too
kept_on_dtype_change = model.weight is weight
parameter_device = next(model.parameters()).device
print("model.to(device) is model:", returned_is_model)
print("same Parameter object after .to(device):", kept_on_move)
print("same Parameter object after .to(torch.float64):", kept_on_dtype_change)
print("parameters are on:", parameter_device)

# A meta tensor cannot be put inside a CPU or GPU Parameter: .to("meta") makes new Parameters,
# and an optimizer built before the move still holds the old ones.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.to("meta")
kept_on_meta = model.weight is weight
optimizer_holds_old = optimizer.param_groups[0]["params"][0] is weight
print("same Parameter object after .to('meta'):", kept_on_meta)

# A global switch makes every conversion create new Parameters (restored right after).
torch.__future__.set_overwrite_module_params_on_conversion(True)
try:
    other = nn.Linear(3, 2)
    other_weight = other.weight
    other.to(torch.float64)
    kept_with_overwrite = other.weight is other_weight
finally:
    torch.__future__.set_overwrite_module_params_on_conversion(False)
print("with overwrite_module_params_on_conversion, after .to(float64):", kept_with_overwrite)

try:
    model.device  # a module has no single device: its tensors could be on several
except AttributeError as error:
    no_device_attribute = f"{type(error).__name__}: {error}"
print(no_device_attribute)

assert x_stayed_on_cpu  # witness: original-stays
assert x_meta.device.type == "meta" and x_meta.shape == x.shape and x_meta.dtype == x.dtype
assert "meta tensor" in meta_values  # witness: meta-has-no-values
assert same_device_is_same_tensor  # witness: same-device-same-tensor
assert copy_is_new_tensor  # witness: copy-true-copies
assert (x_on_device is x) == (device.type == "cpu")  # witness: is-x-depends-on-device
assert torch.equal(x_on_device.cpu(), x)
assert returned_is_model  # witness: module-to-returns-itself
assert parameter_device.type == device.type
assert kept_on_move and kept_on_dtype_change  # witness: conversion-keeps-parameters
assert not kept_on_meta and optimizer_holds_old  # witness: meta-replaces-parameters
assert not kept_with_overwrite  # witness: overwrite-flag
assert (
    no_device_attribute.startswith("AttributeError")
    and "no attribute 'device'" in no_device_attribute
)

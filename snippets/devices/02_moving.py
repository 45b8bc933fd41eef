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
parameter_device = next(model.parameters()).device
print("model.to(device) is model:", returned_is_model)
print("same Parameter object after .to(device):", kept_on_move)
print("parameters are on:", parameter_device)

# A dtype change is a conversion too. float64 stays on the CPU (Apple's MPS has none).
cpu_model = nn.Linear(3, 2)
cpu_weight = cpu_model.weight
early = torch.optim.SGD(cpu_model.parameters(), lr=0.1, momentum=0.9)  # built before it
early_had_state = bool(early.state)  # SGD creates its momentum buffers at its first step
cpu_model.to(torch.float64)
kept_on_dtype_change = cpu_model.weight is cpu_weight
early_holds_converted = early.param_groups[0]["params"][0] is cpu_model.weight
before_step = cpu_model.weight.detach().clone()
cpu_model(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
early.step()
early_moved_weight = not torch.equal(cpu_model.weight.detach(), before_step)
buffer_dtype = early.state[cpu_model.weight]["momentum_buffer"].dtype
print("same Parameter object after .to(torch.float64):", kept_on_dtype_change)
print("SGD built before it, no state yet: first step runs, momentum buffer in", buffer_dtype)

# Adagrad creates its state in its constructor: a conversion afterwards does not reach it.
adagrad_model = nn.Linear(3, 2)
adagrad = torch.optim.Adagrad(adagrad_model.parameters(), lr=0.1)
adagrad_had_state = bool(adagrad.state)  # before any step
adagrad_model.to(torch.float64)
adagrad_sum_dtype = adagrad.state[adagrad_model.weight]["sum"].dtype
print("Adagrad built before .to(float64), no step taken: its sums are in", adagrad_sum_dtype)
adagrad_model(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
adagrad.step()  # runs: Adagrad keeps adding up the squared gradients in float32
adagrad_after_step = adagrad.state[adagrad_model.weight]["sum"].dtype
print("after its next step, no error; its sums are still in", adagrad_after_step)

# The state Adam builds up at its first step is not converted either (the gradients are).
stepped = nn.Linear(3, 2)
adam = torch.optim.Adam(stepped.parameters(), lr=0.1)
stepped(torch.ones(1, 3)).sum().backward()
adam.step()  # creates Adam's running averages, in float32
stepped.to(torch.float64)
grad_dtype = stepped.weight.grad.dtype
averages_dtype = adam.state[stepped.weight]["exp_avg"].dtype
adam.zero_grad()
stepped(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
try:
    adam.step()
    next_step = "runs"
except RuntimeError as error:
    next_step = f"{type(error).__name__}: {error}".splitlines()[0]
print(f"Adam stepped, then .to(float64): gradient in {grad_dtype}, averages in {averages_dtype}")
print("  the next step ->", next_step)

# A meta tensor cannot be put inside a CPU or GPU Parameter: .to("meta") makes new Parameters,
# and an optimizer built before the move still holds the old ones.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model.to("meta")
kept_on_meta = model.weight is weight
optimizer_holds_old = optimizer.param_groups[0]["params"][0] is weight
print("same Parameter object after .to('meta'):", kept_on_meta)

# Two global switches change the default (both restored right after).
future = torch.__future__
saved_flags = (
    future.get_overwrite_module_params_on_conversion(),
    future.get_swap_module_params_on_conversion(),
)
try:
    future.set_overwrite_module_params_on_conversion(True)  # every conversion: new Parameters
    other = nn.Linear(3, 2)
    other_weight = other.weight
    other.to(torch.float64)
    kept_with_overwrite = other.weight is other_weight
    future.set_swap_module_params_on_conversion(True)  # swap the contents in; checked first
    swapped = nn.Linear(3, 2)
    swapped_weight = swapped.weight
    swap_optimizer = torch.optim.SGD(swapped.parameters(), lr=0.1)
    swapped.to("meta")
    kept_with_swap = swapped.weight is swapped_weight
    swap_optimizer_device = swap_optimizer.param_groups[0]["params"][0].device.type
finally:
    future.set_overwrite_module_params_on_conversion(saved_flags[0])
    future.set_swap_module_params_on_conversion(saved_flags[1])
print("with overwrite_module_params_on_conversion, after .to(float64):", kept_with_overwrite)
print("with swap_module_params_on_conversion as well, after .to('meta'):", kept_with_swap)

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
assert (
    not early_had_state
    and early_holds_converted
    and early_moved_weight
    and buffer_dtype == torch.float64
)  # witness: early-optimizer-follows
assert (
    adagrad_had_state
    and adagrad_model.weight.dtype == torch.float64
    and adagrad_sum_dtype == torch.float32
)  # witness: state-from-constructor-stays
assert adagrad_after_step == torch.float32  # witness: adagrad-steps-silently
assert (
    stepped.weight.dtype == torch.float64
    and grad_dtype == torch.float64
    and averages_dtype == torch.float32
    and next_step.startswith("RuntimeError")
)  # witness: optimizer-state-not-converted
assert not kept_on_meta and optimizer_holds_old  # witness: meta-replaces-parameters
assert not kept_with_overwrite  # witness: overwrite-flag
assert kept_with_swap and swap_optimizer_device == "meta"  # witness: swap-flag-keeps
assert (
    future.get_overwrite_module_params_on_conversion(),
    future.get_swap_module_params_on_conversion(),
) == saved_flags
assert (
    no_device_attribute.startswith("AttributeError")
    and "no attribute 'device'" in no_device_attribute
)

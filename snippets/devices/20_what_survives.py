"""What check_available changes in the device line, and which objects survive .to(): when a tensor
counts as already on the target device, which module tensors are kept or replaced, and the
optimizer state that is not converted."""

from unittest import mock

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# A build for CUDA on a machine whose GPU is hidden, staged with two mock.patch calls that exist
# only for this demonstration: current_accelerator() names the accelerator the build is for, and
# check_available=True also asks whether one is usable.
with (
    mock.patch("torch._C._accelerator_getAccelerator", return_value=torch.device("cuda")),
    mock.patch("torch.cuda.is_available", return_value=False),
):
    built_for = torch.accelerator.current_accelerator()
    usable = torch.accelerator.current_accelerator(check_available=True)
print("CUDA build, no usable GPU: current_accelerator() ->", built_for, end=" | ")
print("with check_available=True ->", usable)

# .to() skips the copy when the target equals the tensor's device. A CPU device has no index.
x = torch.randn(2, 3)
copied = x.to("cpu:0")
print("torch.device('cpu:0') == x.device:", torch.device("cpu:0") == x.device)
print("x.to('cpu') is x:", x.to("cpu") is x, "| x.to('cpu:0') is x:", copied is x)
print("x.to('cpu:0') has memory of its own:", copied.data_ptr() != x.data_ptr())
forced = x.to(x.device, copy=True)
forced_is_copy = forced.data_ptr() != x.data_ptr() and torch.equal(forced, x)
print("x.to(x.device, copy=True) has memory of its own:", forced_is_copy)
if device.type == "cuda":  # an accelerator target without an index gets the current one first
    g = torch.zeros(1, device=device)
    g_is_kept, g_device_differs = g.to(device) is g, g.device != device
    print(f"g on {g.device}: g.to({device}) is g:", g_is_kept, "| differ:", g_device_differs)

# A conversion that changes the tensors: parameters keep their objects, buffers get new ones.
norm = nn.BatchNorm1d(3)
weight, mean = norm.weight, norm.running_mean
norm.to(torch.float64)
print("same weight:", norm.weight is weight, "| same running_mean:", norm.running_mean is mean)
print("the running_mean kept from before is still", mean.dtype)

# SGD makes its momentum buffers at its first step; a later conversion does not reach them.
linear = nn.Linear(3, 2)
sgd = torch.optim.SGD(linear.parameters(), lr=0.1, momentum=0.9)
linear(torch.ones(1, 3)).sum().backward()
sgd.step()
linear.to(torch.float64)
sgd.zero_grad()
linear(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
sgd.step()  # runs, with no error
momentum = sgd.state[linear.weight]["momentum_buffer"]
print("SGD stepped, then .to(float64): next step runs, momentum buffer in", momentum.dtype)

# Adagrad makes its sums in its constructor: after .to(float64), its step adds to them in float32.
adagrad_linear = nn.Linear(3, 2)
adagrad = torch.optim.Adagrad(adagrad_linear.parameters(), lr=0.1)
adagrad_linear.to(torch.float64)
sums = adagrad.state[adagrad_linear.weight]["sum"]
sums_before = sums.clone()
adagrad_linear(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
adagrad.step()  # runs, with no error
same_sums = adagrad.state[adagrad_linear.weight]["sum"] is sums
added_up = same_sums and not torch.equal(sums, sums_before)
print("Adagrad, .to(float64) before its first step: the step added to its sums:", added_up, end=" ")
print("| in", sums.dtype)

# Adam makes its averages at its first step: after .to(float64), its next step meets float32
# averages and a float64 gradient, and fails on the dtype; with the averages converted, it runs.
adam_linear = nn.Linear(3, 2)
adam = torch.optim.Adam(adam_linear.parameters(), lr=0.1)
adam_linear(torch.ones(1, 3)).sum().backward()
adam.step()
adam_linear.to(torch.float64)
adam.zero_grad()
adam_linear(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
try:
    adam.step()
    adam_error = ""
except RuntimeError as error:
    adam_error = str(error)
for state in adam.state.values():
    state["exp_avg"], state["exp_avg_sq"] = state["exp_avg"].double(), state["exp_avg_sq"].double()
adam.step()  # runs
adam_refused_dtype = "dtype float" in adam_error and "dtype double" in adam_error

assert built_for == torch.device("cuda") and usable is None  # witness: check-available
assert x.to("cpu") is x and copied.data_ptr() != x.data_ptr()  # witness: cpu0-copies
assert forced_is_copy  # witness: copy-has-own-memory
assert torch.device("cpu:0") != x.device  # witness: cpu0-is-not-cpu
assert norm.weight is weight and norm.running_mean is not mean  # witness: buffers-replaced
old_left_behind = mean.dtype == torch.float32 and norm.running_mean.dtype == torch.float64
assert old_left_behind  # witness: old-buffer-stays
sgd_left_behind = linear.weight.dtype == torch.float64 and momentum.dtype == torch.float32
assert sgd_left_behind  # witness: sgd-quiet
assert added_up and sums.dtype == torch.float32  # witness: adagrad-adds-in-float32
assert adam_refused_dtype  # witness: adam-fails-on-dtype
if device.type == "cuda":
    assert g_is_kept and g_device_differs  # witness: index-filled-in

"""Which objects survive .to(): a device must compare equal to be "the same", and buffers are
replaced where parameters are kept."""

import torch
from torch import nn

# .to() skips the copy only when the target compares equal to the tensor's device.
x = torch.randn(2, 3)
copied = x.to("cpu:0")
print("torch.device('cpu:0') == x.device:", torch.device("cpu:0") == x.device)
print("x.to('cpu') is x:", x.to("cpu") is x, "| x.to('cpu:0') is x:", copied is x)
print("x.to('cpu:0') has memory of its own:", copied.data_ptr() != x.data_ptr())

# A conversion that changes the tensors: parameters keep their objects, buffers get new ones.
norm = nn.BatchNorm1d(3)
weight, mean = norm.weight, norm.running_mean
norm.to(torch.float64)
print("same weight:", norm.weight is weight, "| same running_mean:", norm.running_mean is mean)
print("the running_mean kept from before is still", mean.dtype)

assert x.to("cpu") is x and copied.data_ptr() != x.data_ptr()  # witness: cpu0-copies
assert torch.device("cpu:0") != x.device  # witness: cpu0-is-not-cpu
assert norm.weight is weight and norm.running_mean is not mean  # witness: buffers-replaced
old_left_behind = mean.dtype == torch.float32 and norm.running_mean.dtype == torch.float64
assert old_left_behind  # witness: old-buffer-stays

"""Calling a module runs its hooks around forward; calling forward directly skips them."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
X = torch.randn(2, 8).to(device)

# A forward hook runs after forward and sees the module, its inputs and its output.
seen = []
handle = model.register_forward_hook(
    lambda module, inputs, output: seen.append(tuple(output.shape))
)
model(X)
hook_runs_after_call = len(seen)
model.forward(X)
hook_runs_after_forward = len(seen)
handle.remove()
model(X)
hook_runs_after_remove = len(seen)
print(
    "hook ran:",
    hook_runs_after_call,
    "after model(X),",
    hook_runs_after_forward,
    "after model.forward(X),",
    hook_runs_after_remove,
    "after handle.remove()",
)

# PyTorch's own features use hooks too. A lazy layer infers its input size in a forward pre-hook,
# so calling its forward directly meets a weight that does not exist yet.
lazy = nn.LazyLinear(4).to(device)
try:
    lazy.forward(X)
except ValueError as error:
    message = str(error).split(". ")[0]
    print(f"{type(error).__name__}: {message}.")
lazy(X)  # through __call__: the pre-hook sizes the weight, then forward runs
lazy_weight_shape = tuple(lazy.weight.shape)
lazy_type = type(lazy).__name__
print(f"after lazy(X): a {lazy_type} with weight of shape {lazy_weight_shape}")

assert (hook_runs_after_call, hook_runs_after_forward, hook_runs_after_remove) == (1, 1, 1)
assert seen == [(2, 4)]
assert message.startswith("Attempted to use an uninitialized parameter")
assert lazy_weight_shape == (4, 8) and lazy_type == "Linear"

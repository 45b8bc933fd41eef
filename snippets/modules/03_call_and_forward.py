"""Calling a module runs its hooks around forward; calling forward directly skips them."""

import torch
from torch import nn
from torch.nn.utils import prune

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

# A pre-hook may replace the inputs, a forward hook the output: here (0 + 1) * 10.
identity = nn.Identity()
identity.register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))
identity.register_forward_hook(lambda module, inputs, output: output * 10)
zero = torch.zeros(1, device=device)
through_call, through_forward = identity(zero).item(), identity.forward(zero).item()
print(f"Identity with hooks: called {through_call:g}, forward called directly {through_forward:g}")

# PyTorch's own features use hooks too. A lazy layer infers its input size in a forward pre-hook,
# so calling its forward directly meets a weight that does not exist yet.
lazy = nn.LazyLinear(4).to(device)
lazy_pre_hooks = len(lazy._forward_pre_hooks)  # an internal registry, read here to show the hook
try:
    lazy.forward(X)
except ValueError as error:
    message = str(error).split(". ")[0]
    print(f"{type(error).__name__}: {message}.")
lazy(X)  # through __call__: the pre-hook sizes the weight, then forward runs
lazy_weight_shape = tuple(lazy.weight.shape)
lazy_type = type(lazy).__name__
print(f"after lazy(X): a {lazy_type} with weight of shape {lazy_weight_shape}")

# Pruning also works in a forward pre-hook: it recomputes weight from weight_orig and a mask.
pruned = nn.Linear(8, 4).to(device)
prune.l1_unstructured(pruned, "weight", amount=0.5)
pruning_hooks = [type(hook).__name__ for hook in pruned._forward_pre_hooks.values()]
print("forward pre-hooks after pruning:", pruning_hooks)

assert hook_runs_after_call == 1 and hook_runs_after_forward == 1  # witness: forward-skips-hook
assert hook_runs_after_remove == 1  # witness: handle-removes
assert seen == [(2, 4)]
assert (through_call, through_forward) == (10, 0)  # witness: hooks-replace
assert lazy_pre_hooks == 1  # witness: lazy-pre-hook
assert message.startswith("Attempted to use an uninitialized parameter")
assert pruning_hooks == ["L1Unstructured"]  # witness: prune-pre-hook
assert lazy_weight_shape == (4, 8) and lazy_type == "Linear"

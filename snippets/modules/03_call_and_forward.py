"""Calling a module runs its hooks around forward; calling forward directly skips them."""

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook
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

# A hook registered for all modules at once also runs in __call__, and is skipped by forward.
global_seen = []  # the modules the hook ran for
global_handle = register_module_forward_hook(
    lambda module, inputs, output: global_seen.append(type(module).__name__)
)
try:
    model[0](X)
    global_runs_after_call = len(global_seen)
    model[0].forward(X)
    global_runs_after_forward = len(global_seen)
    model.forward(X)  # the container's forward still calls each child: the hook runs for them
    children_seen = global_seen[global_runs_after_forward:]
finally:
    global_handle.remove()  # else it would run for every module of every later call
print("global hook ran:", global_runs_after_call, "after model[0](X),", end=" ")
print(global_runs_after_forward, "after model[0].forward(X)")
print("model.forward(X) ran it for its children:", children_seen)

# A pre-hook may replace the inputs, a forward hook the output: called, (1 + 1) * 10 = 20.
# A direct forward returns the 1 unchanged: 2 would mean the pre-hook ran, 10 the forward hook.
identity = nn.Identity()
identity.register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))
identity.register_forward_hook(lambda module, inputs, output: output * 10)
one = torch.ones(1, device=device)
through_call, through_forward = identity(one).item(), identity.forward(one).item()
print(f"Identity with hooks: called {through_call:g}, forward called directly {through_forward:g}")


# Inside a parent's forward, self.hidden.forward(x) skips hidden's hooks too.
class Parent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor, direct: bool = False) -> torch.Tensor:
        return self.hidden.forward(x) if direct else self.hidden(x)


parent, hook_log = Parent().to(device), []
parent.hidden.register_forward_pre_hook(lambda *_: hook_log.append("pre"))
parent.hidden.register_forward_hook(lambda *_: hook_log.append("post"))
parent(X)
via_call = hook_log.copy()
hook_log.clear()
parent(X, direct=True)
via_forward = hook_log.copy()
print("hidden's hooks ran:", via_call, "via self.hidden(x),", via_forward, "via .forward(x)")
backward_runs = []  # __call__ also sets up backward hooks: forward alone does not
parent.hidden.register_full_backward_hook(lambda *_: backward_runs.append("backward"))
X_grad = X.detach().requires_grad_()
parent(X_grad).sum().backward()
after_call = len(backward_runs)
parent(X_grad, direct=True).sum().backward()
after_forward = len(backward_runs) - after_call
print("backward hook runs, after parent(x) and .forward(x):", after_call, after_forward)

# PyTorch's own features use hooks too. A lazy layer infers its input size in a forward pre-hook,
# so calling its forward directly meets a weight that has no shape or values yet.
lazy = nn.LazyLinear(4).to(device)
hooks_before = len(lazy._forward_pre_hooks)  # an internal registry, read here to show the hook
try:
    lazy.forward(X)
except ValueError as error:
    message = str(error).split(". ")[0]
    print(f"{type(error).__name__}: {message}.")
    # The rest of the message says to "Call `forward` with a dummy batch"; forward is what failed.
    says_call_forward = "Call `forward` with a dummy batch" in str(error)
lazy(X)  # through __call__: the pre-hook sizes the weight, then removes itself; forward runs
hooks_after = len(lazy._forward_pre_hooks)
lazy_weight_shape = tuple(lazy.weight.shape)
lazy_type = type(lazy).__name__
print(f"after lazy(X): a {lazy_type} with weight of shape {lazy_weight_shape}")
print("forward pre-hooks before and after the first call:", hooks_before, hooks_after)

# Without that hook (_initialize_hook is internal), calling the layer fails like forward did.
unhooked = nn.LazyLinear(4).to(device)
unhooked._initialize_hook.remove()
try:
    unhooked(X)
    unhooked_message = ""
except ValueError as error:
    unhooked_message = str(error)
print("a lazy layer without its pre-hook, called:", unhooked_message.split(" in ")[0])
unhooked_fails = unhooked_message.startswith("Attempted to use an uninitialized parameter")

# Pruning also works in a forward pre-hook: it recomputes weight from weight_orig and a mask.
# Pruning computes weight once; until weight_orig or the mask changes, forward agrees with a call.
pruned = nn.Linear(8, 4).to(device)
original = pruned.weight
prune.l1_unstructured(pruned, "weight", amount=0.5)
kept_original = pruned.weight_orig is original  # the same Parameter, renamed
pruning_hooks = [type(hook).__name__ for hook in pruned._forward_pre_hooks.values()]
pruned_names = [name for name, _ in pruned.named_parameters()], list(dict(pruned.named_buffers()))
agree_at_first = torch.equal(pruned.forward(X), pruned(X))
old_weight = pruned.weight.clone()
with torch.no_grad():
    pruned.weight_orig.mul_(3)  # as an optimizer step changes it
weight_kept = torch.equal(pruned.weight, old_weight)  # nothing has recomputed weight yet
stale = pruned.forward(X)  # uses the weight of the last call
fresh = pruned(X)  # the pre-hook recomputes weight first
recomputed = torch.equal(pruned.weight, pruned.weight_orig * pruned.weight_mask)
with torch.no_grad():
    pruned.weight_mask.zero_()  # a changed mask is missed the same way
mask_missed = not torch.allclose(pruned.forward(X), pruned(X))
print("forward pre-hooks after pruning:", pruning_hooks)
print("forward and a call agree right after pruning:", agree_at_first)
print("  after changing weight_orig:", torch.equal(stale, fresh), end="; ")
print("after zeroing the mask:", not mask_missed)
print("parameters and buffers after pruning:", *pruned_names)


# Module.compile() compiles __call__. A backend that runs each graph unchanged counts the runs.
class Doubled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x)) * 2


compiled_runs = []


def counting_backend(graph_module, example_inputs):
    def run(*args):
        compiled_runs.append(1)
        return graph_module.forward(*args)

    return run


doubled = Doubled().to(device)
doubled.compile(backend=counting_backend)
try:
    doubled.forward(X)
    runs_after_forward = len(compiled_runs)
    doubled(X)
    runs_after_call = len(compiled_runs)
finally:
    torch.compiler.reset()  # forget the compiled code, kept in caches global to the process
print("compiled runs:", runs_after_forward, "after doubled.forward(X),", end=" ")
print(runs_after_call, "after doubled(X)")

top_skips = (hook_runs_after_call, hook_runs_after_forward) == (1, 1)
nested_skips = (via_call, via_forward) == (["pre", "post"], [])
assert top_skips and nested_skips  # witness: forward-skips-hook
assert hook_runs_after_remove == 1  # witness: handle-removes
assert (after_call, after_forward) == (1, 0)  # witness: call-sets-up-backward-hooks
skipped_only_by_the_caller = children_seen == ["Linear", "ReLU", "Linear"]
global_counts = (global_runs_after_call, global_runs_after_forward) == (1, 1)
assert global_counts and skipped_only_by_the_caller  # witness: global-hooks
assert seen == [(2, 4)]
assert (through_call, through_forward) == (20, 1)  # witness: hooks-replace
assert message.startswith("Attempted to use an uninitialized parameter")
assert says_call_forward  # witness: message-says-call-forward
assert (hooks_before, hooks_after, unhooked_fails) == (1, 0, True)  # witness: lazy-pre-hook
assert pruning_hooks == ["L1Unstructured"]
renamed = pruned_names == (["bias", "weight_orig"], ["weight_mask"])
assert kept_original and renamed  # witness: prune-keeps-orig
assert (runs_after_forward, runs_after_call) == (0, 1)  # witness: compile-wraps-call
assert not torch.allclose(stale, fresh) and recomputed  # witness: prune-pre-hook
assert agree_at_first and weight_kept and mask_missed  # witness: prune-stale
assert lazy_weight_shape == (4, 8) and lazy_type == "Linear"

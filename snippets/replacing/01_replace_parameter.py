"""Replacing a Parameter object cuts it off from an earlier optimizer; copying into it does not."""

import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
new_weight = torch.full((1, 2), 0.5).to(device)
x = torch.ones(1, 2, device=device)


def train_one_step(how: str) -> dict:
    layer = nn.Linear(2, 1).to(device)
    old_weight = layer.weight  # the tensor object the optimizer is given
    old_values = old_weight.detach().clone()
    bias_before = layer.bias.detach().clone()
    # With momentum, SGD keeps a buffer in optimizer.state for every tensor it steps.
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    if how == "replace":
        layer.weight = nn.Parameter(new_weight.clone())  # a new tensor object
    elif how == "copy_":
        with torch.no_grad():
            layer.weight.copy_(new_weight)  # new values in the same tensor object
    else:
        nn.init.constant_(layer.weight, 0.5)  # nn.init also writes in place
    optimizer.zero_grad()
    layer(x).sum().backward()  # d(sum)/d(weight) = x = [1, 1], d(sum)/d(bias) = 1
    optimizer.step()
    held = optimizer.param_groups[0]["params"][0]  # the optimizer's entry for the weight
    return {
        "holds_old": held is old_weight,
        "tracked": any(p is layer.weight for p in optimizer.param_groups[0]["params"]),
        "old_grad": old_weight.grad,
        "old_stepped": "momentum_buffer" in optimizer.state.get(old_weight, {}),  # made one?
        "old_unchanged": torch.equal(old_weight.detach(), old_values),
        "new_grad": layer.weight.grad,
        "after": layer.weight[0, 0].item(),
        "bias_held": any(p is layer.bias for p in optimizer.param_groups[0]["params"]),
        "bias_grad": layer.bias.grad,
        "bias_changed": not torch.equal(layer.bias.detach(), bias_before),
    }


# On CUDA, a process's first backward pass through a matrix product warns once about cuBLAS's
# context, whatever it computes: one runs first, so that only the swap's warnings are recorded.
warm_up = torch.ones(2, 2, device=device, requires_grad=True)
(warm_up @ warm_up).sum().backward()
# Then the replacement runs, before the other ways, so that a warning it raises once per process
# would show here.
with warnings.catch_warnings(record=True) as caught:  # record every warning the swap could raise
    warnings.simplefilter("always")
    replaced = train_one_step("replace")
copied, initialized = train_one_step("copy_"), train_one_step("nn.init")
# The optimizer's state for the tensor stays too: momentum from earlier steps survives a copy_.
stateful = nn.Linear(2, 1).to(device)
stateful_optimizer = torch.optim.SGD(stateful.parameters(), lr=0.1, momentum=0.9)
for _ in range(3):
    stateful_optimizer.zero_grad()
    stateful(x).sum().backward()
    stateful_optimizer.step()
momentum_before = stateful_optimizer.state[stateful.weight]["momentum_buffer"].clone()
with torch.no_grad():
    stateful.weight.copy_(new_weight)
momentum_after = stateful_optimizer.state[stateful.weight].get("momentum_buffer")
state_kept = momentum_after is not None and torch.equal(momentum_after, momentum_before)
replaced_after, copied_after, init_after = (r["after"] for r in (replaced, copied, initialized))
print(
    "layer.weight = nn.Parameter(...): optimizer tracks the new weight:",
    f"{replaced['tracked']}, weight after a step {replaced_after:g}",
)
print(
    "  the old tensor: grad",
    replaced["old_grad"],
    "| stepped:",
    replaced["old_stepped"],
    "| unchanged:",
    replaced["old_unchanged"],
    "| warnings:",
    len(caught),
)
print("  the bias, still the optimizer's: changed by the step:", replaced["bias_changed"])
print(f"layer.weight.copy_(...):   tracked: {copied['tracked']}, after a step {copied_after:g}")
print(
    "  after three momentum steps and then copy_: the momentum buffer is still there:", state_kept
)
print(f"nn.init.constant_(...):    tracked: {initialized['tracked']}, after a step {init_after:g}")

# Every in-place function of nn.init (the names ending in "_") writes into the tensor it is given.
init_names = [name for name in dir(nn.init) if name.endswith("_") and not name.startswith("_")]


def writes_in_place(name: str) -> bool:
    shape = (4, 4, 3) if name == "dirac_" else (4, 4)  # dirac_ takes a 3-D tensor
    weight = nn.Parameter(torch.full(shape, 7.0))  # 7.0, to see that new values arrive
    address = weight.data_ptr()
    value = (0.5,) if name in ("constant_", "sparse_") else ()  # the value, or the sparsity
    same = getattr(nn.init, name)(weight, *value) is weight and weight.data_ptr() == address
    return same and not torch.equal(weight.detach(), torch.full_like(weight, 7.0))  # new values


init_in_place = [name for name in init_names if writes_in_place(name)]
init_count = len(init_names)
print(f"nn.init functions that write into the tensor given: {len(init_in_place)} of {init_count}")


# Control: a .grad of zeros is not skipped. The step makes a momentum buffer for it.
zero_grad_weight = nn.Parameter(torch.ones(2, device=device))
control = torch.optim.SGD([zero_grad_weight], lr=0.1, momentum=0.9)
zero_grad_weight.grad = torch.zeros_like(zero_grad_weight)
control.step()
zero_grad_stepped = "momentum_buffer" in control.state[zero_grad_weight]
print("a weight whose .grad is zeros: stepped:", zero_grad_stepped)

assert replaced["holds_old"] and not replaced["tracked"]  # witness: optimizer-holds-old
assert replaced["old_grad"] is None  # witness: old-gets-no-grad
assert zero_grad_stepped  # witness: zero-grad-stepped
assert not replaced["old_stepped"] and replaced["old_unchanged"]  # witness: old-skipped
assert replaced["new_grad"] is not None and replaced_after == 0.5  # witness: new-not-stepped
bias_trained = replaced["bias_grad"] is not None and replaced["bias_changed"]
assert replaced["bias_held"] and bias_trained  # witness: bias-trains
assert not caught  # witness: no-warning
assert copied["tracked"] and copied["holds_old"]  # witness: copy-keeps-object
assert state_kept  # witness: copy-keeps-state
init_kept = initialized["tracked"] and initialized["holds_old"]
assert init_kept and init_in_place == init_names  # witness: init-keeps-object
assert init_count == 14
assert abs(copied_after - 0.4) < 1e-6 and abs(init_after - 0.4) < 1e-6  # 0.5 - 0.1 * 1

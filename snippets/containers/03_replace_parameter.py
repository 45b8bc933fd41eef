"""Replacing a Parameter object cuts it off from an earlier optimizer; copying into it does not."""

import inspect
import textwrap
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
        "old_stepped": old_weight in optimizer.state,  # did the step make it a momentum buffer?
        "old_unchanged": torch.equal(old_weight.detach(), old_values),
        "new_grad": layer.weight.grad,
        "after": layer.weight[0, 0].item(),
        "bias_held": any(p is layer.bias for p in optimizer.param_groups[0]["params"]),
        "bias_grad": layer.bias.grad,
        "bias_changed": not torch.equal(layer.bias.detach(), bias_before),
    }


copied, initialized = train_one_step("copy_"), train_one_step("nn.init")
with warnings.catch_warnings(record=True) as caught:  # record every warning the swap could raise
    warnings.simplefilter("always")
    replaced = train_one_step("replace")
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
print(f"nn.init.constant_(...):    tracked: {initialized['tracked']}, after a step {init_after:g}")

# Every in-place function of nn.init (the names ending in "_") writes into the tensor it is given.
init_names = [name for name in dir(nn.init) if name.endswith("_") and not name.startswith("_")]


def writes_in_place(name: str) -> bool:
    weight = nn.Parameter(torch.empty((4, 4, 3) if name == "dirac_" else (4, 4)))  # dirac_: 3-D
    address = weight.data_ptr()
    value = (0.5,) if name in ("constant_", "sparse_") else ()  # the value, or the sparsity
    return getattr(nn.init, name)(weight, *value) is weight and weight.data_ptr() == address


init_in_place = [name for name in init_names if writes_in_place(name)]
init_count = len(init_names)
print(f"nn.init functions that write into the tensor given: {len(init_in_place)} of {init_count}")

# A weight replaced after a step keeps its last .grad: model.zero_grad() no longer reaches it, so
# every step moves it again. optimizer.zero_grad() does reach it.
layer = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
layer(x).sum().backward()
optimizer.step()  # some training
old_weight = layer.weight
layer.weight = nn.Parameter(new_weight.clone())
before = old_weight.detach().clone()
layer.zero_grad()
layer(x).sum().backward()
optimizer.step()
stale_moved = old_weight.grad is not None and not torch.equal(old_weight.detach(), before)
optimizer.zero_grad()
stale_reset = old_weight.grad is None
print("replaced after a step: after model.zero_grad(), the old weight still has a .grad", end=" ")
print(f"and the step moved it: {stale_moved}; optimizer.zero_grad() set it to None: {stale_reset}")

# Control: a .grad of zeros is not skipped. The step makes a momentum buffer for it.
zero_grad_weight = nn.Parameter(torch.ones(2, device=device))
control = torch.optim.SGD([zero_grad_weight], lr=0.1, momentum=0.9)
zero_grad_weight.grad = torch.zeros_like(zero_grad_weight)
control.step()
zero_grad_stepped = zero_grad_weight in control.state
print("a weight whose .grad is zeros: stepped:", zero_grad_stepped)


def keeps_none_grad(name: str) -> tuple[bool, bool, bool]:
    """Does a step of torch.optim.<name> leave a tensor whose .grad is None as it was? Has the
    optimizer weight decay, and does it move a tensor whose .grad is zeros?"""
    used, unused, zeroed = (nn.Parameter(torch.ones(2, 2, device=device)) for _ in range(3))
    # The loss is (used**2).sum(), read through an embedding lookup of both rows: with
    # sparse=True the gradient is sparse, the only kind SparseAdam takes.
    rows = torch.arange(2, device=device)
    nn.functional.embedding(rows, used, sparse=name == "SparseAdam").square().sum().backward()
    optimizer_class = getattr(torch.optim, name)
    # With weight decay, an optimizer that took the missing .grad for zeros would move unused.
    has_decay = "weight_decay" in inspect.signature(optimizer_class).parameters
    params = [used, unused]
    if has_decay:  # a control: a .grad of zeros, which weight decay turns into a step
        zeroed.grad = torch.zeros_like(zeroed)
        params.append(zeroed)
    optimizer_class(params, **({"weight_decay": 0.1} if has_decay else {})).step()
    changed = [not torch.equal(p.detach(), torch.ones_like(p)) for p in (used, unused, zeroed)]
    return unused.grad is None and changed[:2] == [True, False], has_decay, changed[2]


# Every optimizer in torch.optim but L-BFGS, which needs a closure and comes below.
names = [n for n in torch.optim.__all__ if n[0].isupper() and n not in ("Optimizer", "LBFGS")]
none_grad_kept = {name: keeps_none_grad(name) for name in names}
kept_by = ", ".join(name for name, (kept, _, _) in none_grad_kept.items() if kept)
print("a tensor whose .grad is None stays as it was under:", kept_by)
decayed = [name for name, (_, has_decay, _) in none_grad_kept.items() if has_decay]
zeros_moved = [name for name, (_, _, moved) in none_grad_kept.items() if moved]
decayed_count = len(decayed)
print(f"with weight decay ({decayed_count} of them), one whose .grad is zeros moved:", end=" ")
print(zeros_moved == decayed)

# L-BFGS does not skip: it gathers all gradients into one vector, with zeros for a None.
used = nn.Parameter(torch.ones(2, device=device))
unused = nn.Parameter(torch.ones(3, device=device))  # left out of the loss: its .grad stays None
lbfgs = torch.optim.LBFGS([used, unused], max_iter=1)
with_unused = False  # put unused into the loss?


def closure() -> torch.Tensor:
    lbfgs.zero_grad()
    loss = (used**2).sum() + (unused.sum() if with_unused else 0)
    loss.backward()
    return loss


lbfgs.step(closure)
flat_grad = lbfgs.state[used]["prev_flat_grad"].tolist()  # gradients of used, then unused
lbfgs.step(closure)  # a second step, which also follows the change L-BFGS kept from the first
history_kept = len(lbfgs.state[used]["old_dirs"])  # changes kept from earlier steps
lbfgs_kept = history_kept > 0 and torch.equal(unused.detach(), torch.ones(3, device=device))
print("L-BFGS, unused.grad", unused.grad, "| its flat gradient:", flat_grad)
print(f"  unused as it was after two steps ({history_kept} change kept):", lbfgs_kept)
# Two steps with unused in the loss, then one without: L-BFGS's step also follows the changes
# its history kept from the earlier steps.
with_unused = True
for _ in range(2):
    lbfgs.step(closure)
with_unused, before = False, unused.detach().clone()
lbfgs.step(closure)
later_grad = lbfgs.state[used]["prev_flat_grad"][2:]  # unused's part: zeros again
moved = not torch.equal(unused.detach(), before)
history_moved = unused.grad is None and not later_grad.any() and moved
print("  after two steps with a gradient, a step without one moved it:", history_moved)

# load_state_dict(..., assign=True) also puts new Parameter objects in the module. They take the
# checkpoint's tensors without a copy, so a step with a new optimizer changes the checkpoint too.
checkpoint = nn.Linear(2, 1).to(device).state_dict()
loaded = checkpoint["weight"].clone()  # a copy, to compare with
layer = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
layer.load_state_dict(checkpoint, assign=True)
assign_tracked = any(p is layer.weight for p in optimizer.param_groups[0]["params"])
assign_no_copy = layer.weight.data_ptr() == checkpoint["weight"].data_ptr()
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)  # a new one holds the new Parameters
layer(x).sum().backward()
optimizer.step()
assign_moved = not torch.equal(checkpoint["weight"], loaded)
assign_shared = torch.equal(checkpoint["weight"], layer.weight.detach())
print("after load_state_dict(..., assign=True): optimizer tracks the weight:", assign_tracked)
print("  no copy:", assign_no_copy, "| a new optimizer's step moved the checkpoint:", assign_moved)

# Under the swap flag, assign=True swaps the checkpoint's values (no copy) into the module's
# Parameter objects instead: the model and the checkpoint still share storage.
checkpoint = nn.Linear(2, 1).to(device).state_dict()
checkpoint_address = checkpoint["weight"].data_ptr()  # where the checkpoint's values live
loaded = checkpoint["weight"].clone()  # a copy: the step below changes the checkpoint itself
swap_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    layer = nn.Linear(2, 1).to(device)
    weight_object = layer.weight
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer.load_state_dict(checkpoint, assign=True)
    swap_same_object = layer.weight is weight_object
    swap_tracked = any(p is layer.weight for p in optimizer.param_groups[0]["params"])
    swap_loaded = torch.equal(layer.weight.detach(), loaded)
    swap_no_copy = layer.weight.data_ptr() == checkpoint_address
    layer(x).sum().backward()
    optimizer.step()
    swap_trained = not torch.equal(layer.weight.detach(), loaded)
    checkpoint_trained = torch.equal(checkpoint["weight"], layer.weight.detach())
    # Every load swaps under the flag, assign=True or not: it drops the gradients already
    # computed, and a graph built before the load can no longer run backward.
    plain = nn.Linear(2, 1).to(device)
    pending = plain(x).sum()  # a graph built before the load, not yet run backward
    plain(x).sum().backward()  # gradients computed before the load
    grad_before = plain.weight.grad is not None
    plain_optimizer = torch.optim.SGD(plain.parameters(), lr=0.1, weight_decay=0.1)
    plain_checkpoint = {k: v.clone() for k, v in nn.Linear(2, 1).to(device).state_dict().items()}
    plain.load_state_dict(plain_checkpoint)  # no assign=True
    grad_dropped = grad_before and plain.weight.grad is None
    plain_optimizer.step()  # with a .grad of zeros, weight decay would move the weight
    step_idle = torch.equal(plain.weight.detach(), plain_checkpoint["weight"])
    pending_message = ""
    try:
        pending.backward()
    except RuntimeError as error:
        pending_message = str(error)
    # Two layers: the second one's input requires grad, so the graph saves its weight, and the
    # load cannot swap it. It goes on with the other entries and raises at the end.
    load_message, deep_loaded = "", {}
    for assign in (False, True):
        deep = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
        deep_checkpoint = {key: value + 1 for key, value in deep.state_dict().items()}  # new values
        pending = deep(x).sum()
        try:
            deep.load_state_dict(deep_checkpoint, assign=assign)
        except RuntimeError as error:
            load_message = load_message or " ".join(str(error).split())
        now = deep.state_dict()
        deep_loaded[assign] = [k for k in now if torch.equal(now[k], deep_checkpoint[k])]
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_before)
print(
    "with the swap flag: same Parameter object:",
    swap_same_object,
    "| loaded values:",
    swap_loaded,
    "| no copy:",
    swap_no_copy,
    "| tracked:",
    swap_tracked,
    "| moved by a step:",
    swap_trained,
)
print("  the checkpoint's weight was moved by that step too:", checkpoint_trained and swap_trained)
print("  a load without assign=True: .grad dropped:", grad_dropped, end=", ")
print("backward through a graph built before it:", pending_message.split(" this")[0])
print("  a step right after that load left the weight as loaded:", step_idle)
print("  a load after a forward pass through two layers raises:")
print(textwrap.fill(load_message, 96, initial_indent="    ", subsequent_indent="    "))
print("  entries that hold the checkpoint's values after it:", ", ".join(deep_loaded[False]))
print("  the same with assign=True:", ", ".join(deep_loaded[True]))

assert replaced["holds_old"] and not replaced["tracked"]  # witness: optimizer-holds-old
assert replaced["old_grad"] is None  # witness: old-gets-no-grad
assert zero_grad_stepped  # witness: zero-grad-stepped
assert not replaced["old_stepped"] and replaced["old_unchanged"]  # witness: old-skipped
assert unused.grad is None and flat_grad == [2, 2, 0, 0, 0]  # witness: lbfgs-zeros
assert replaced["new_grad"] is not None and replaced_after == 0.5  # witness: new-not-stepped
bias_trained = replaced["bias_grad"] is not None and replaced["bias_changed"]
assert replaced["bias_held"] and bias_trained  # witness: bias-trains
assert not caught  # witness: no-warning
kept_all = all(kept for kept, _, _ in none_grad_kept.values())
assert len(none_grad_kept) >= 11 and kept_all  # witness: none-grad-kept
assert zeros_moved == decayed and decayed_count == 12  # witness: zeros-would-move
assert lbfgs_kept  # witness: lbfgs-kept
assert history_moved  # witness: lbfgs-history-moves
assert copied["tracked"] and copied["holds_old"]  # witness: copy-keeps-object
init_kept = initialized["tracked"] and initialized["holds_old"]
assert init_kept and init_in_place == init_names  # witness: init-keeps-object
assert init_count == 14
assert abs(copied_after - 0.4) < 1e-6 and abs(init_after - 0.4) < 1e-6  # 0.5 - 0.1 * 1
assert not assign_tracked  # witness: assign-replaces
assert assign_no_copy and assign_moved and assign_shared  # witness: assign-shares-storage
swap_kept = swap_same_object and swap_loaded and swap_no_copy and swap_tracked
assert swap_kept and swap_trained  # witness: swap-keeps-objects
assert swap_no_copy and swap_trained and checkpoint_trained  # witness: checkpoint-shares-storage
assert "poisoned by swap_tensors" in pending_message  # witness: swap-poisons-graph
assert grad_dropped  # witness: swap-drops-grad
assert step_idle  # witness: swap-step-idle
swap_refused = 'While swapping the parameter named "2.weight"' in load_message
only_saved = "use_count" in load_message and '"0.weight"' not in load_message  # 0: input no grad
assert swap_refused and only_saved  # witness: swap-refuses-saved
all_keys = ["0.weight", "0.bias", "2.weight", "2.bias"]
assert deep_loaded[False] == all_keys  # witness: swap-loads-all
assert deep_loaded[True] == ["0.weight", "0.bias", "2.bias"]  # witness: swap-assign-keeps-refused
assert stale_moved and stale_reset  # witness: stale-grad-moves

"""A state_dict shares storage with the model: training changes a state_dict taken earlier."""

import copy
import io
import threading
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Linear(3, 1).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
X, y = torch.randn(8, 3).to(device), torch.randn(8, 1).to(device)


def train_step() -> None:
    optimizer.zero_grad()  # sets every .grad the optimizer holds to None
    nn.functional.mse_loss(model(X), y).backward()
    optimizer.step()


taken = model.state_dict()  # looks like a snapshot, but holds the model's own storage
deep_copy = copy.deepcopy(model.state_dict())  # a real snapshot
cloned = {key: value.clone() for key, value in model.state_dict().items()}  # also a real one
saved = io.BytesIO()
torch.save(model.state_dict(), saved)  # the file holds the bytes as they are now

steps = 3
for step in range(steps):
    train_step()

shares_storage = taken["weight"].data_ptr() == model.weight.data_ptr()
state_requires_grad = taken["weight"].requires_grad
taken_followed_training = torch.equal(taken["weight"], model.weight.detach())
taken_moved = not torch.equal(taken["weight"], cloned["weight"])  # training changed it
copies_kept_old_values = torch.equal(deep_copy["weight"], cloned["weight"])
copies_differ_from_model = not torch.equal(deep_copy["weight"], model.weight.detach())
saved.seek(0)
file_kept_old_values = torch.equal(torch.load(saved)["weight"], cloned["weight"])
print("state_dict tensor shares the parameter's storage:", shares_storage)
print("state_dict tensor requires grad:", state_requires_grad)
print(
    f"after {steps} steps, the early state_dict equals the trained weights:",
    taken_followed_training,
)
kept_old_values = copies_kept_old_values and copies_differ_from_model and file_kept_old_values
print("deepcopy, clone and the saved file kept the old values:", kept_old_values)

# load_state_dict copies values into the existing parameters, so the optimizer still holds them.
weight_object = model.weight
model.load_state_dict(deep_copy)
same_parameter_object = model.weight is weight_object
restored_old_values = torch.equal(model.weight.detach(), cloned["weight"])
print("load_state_dict kept the same Parameter object:", same_parameter_object)
print("load_state_dict restored the old values:", restored_old_values)
loaded_before_step = weight_object.detach().clone()
train_step()  # the optimizer created before the load still updates that object
step_after_load_moved = not torch.equal(weight_object.detach(), loaded_before_step)
print("a step after that load changed the same object:", step_after_load_moved)

# assign=True puts the loaded tensors themselves into the model, in new Parameter objects.
# The optimizer still holds the old ones, which forward no longer uses.
loaded = copy.deepcopy(deep_copy)
model.load_state_dict(loaded, assign=True)
new_weight = model.weight
takes_loaded_tensor = new_weight is not weight_object
takes_loaded_tensor = takes_loaded_tensor and new_weight.data_ptr() == loaded["weight"].data_ptr()
optimizer_params = optimizer.param_groups[0]["params"]
optimizer_sees_model = any(p is new_weight for p in optimizer_params)
optimizer_holds_old = any(p is weight_object for p in optimizer_params)
old_before, new_before = weight_object.detach().clone(), new_weight.detach().clone()
model_before = [p.detach().clone() for p in model.parameters()]  # the new weight and bias
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    train_step()  # one more step with the optimizer created before the load
model_unchanged = all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), model_before))
holds_none = not any(p is q for p in model.parameters() for q in optimizer_params)
print("after assign=True, the optimizer holds the model's weight:", optimizer_sees_model)
print("gradient of the old weight:", weight_object.grad)
print("the step changed the old weight:", not torch.equal(weight_object.detach(), old_before))
print("the step changed the model's weight or bias:", not model_unchanged, end=", ")
print("warnings:", len(caught))

# A value that already is a Parameter (state_dict(keep_vars=True)) is taken as it is, except
# that its requires_grad is set to the model's.
as_parameters = copy.deepcopy(model.state_dict(keep_vars=True))
as_parameters["weight"].requires_grad_(False)
model.load_state_dict(as_parameters, assign=True)
takes_parameter_itself = model.weight is as_parameters["weight"]
print("assign=True with Parameter values takes that Parameter:", takes_parameter_itself)
print("its requires_grad, False in the dictionary, is now:", model.weight.requires_grad)


def old_weight_after_swap(
    make_optimizer,
    set_to_none: bool = True,
    zero_model: bool = False,
    clear_state: bool = False,
    steps_before: int = 2,
):
    """steps_before steps; assign=True swaps in a new weight (the bias stays); two more steps.
    Returns the old weight's .grad at the swap and after, whether each later step moved it, and
    whether the optimizer's step count for it went on (a zero .grad still counts a step).
    clear_state empties the optimizer's state (LBFGS's history) at the swap."""
    torch.manual_seed(0)
    net = nn.Linear(3, 1).to(device)
    opt = make_optimizer(net.parameters())

    def closure() -> torch.Tensor:
        (net if zero_model else opt).zero_grad(set_to_none=set_to_none)
        loss = nn.functional.mse_loss(net(X), y)
        loss.backward()
        return loss

    for _ in range(steps_before):
        opt.step(closure)
    old = net.weight
    grad_at_swap = None if old.grad is None else old.grad.clone()
    net.load_state_dict({"weight": old.detach().clone()}, strict=False, assign=True)
    if clear_state:
        opt.state.clear()
    moved, count_at_swap = [], step_count(opt, old)
    for _ in range(2):
        before = old.detach().clone()
        opt.step(closure)
        moved.append(not torch.equal(old.detach(), before))
    return grad_at_swap, old.grad, moved, step_count(opt, old) != count_at_swap


def step_count(optimizer, parameter) -> float | None:
    step = optimizer.state.get(parameter, {}).get("step")  # absent where nothing is counted
    return None if step is None else float(step)


def sgd(momentum: float = 0.0, weight_decay: float = 0.0):
    return lambda params: torch.optim.SGD(
        params, lr=0.1, momentum=momentum, weight_decay=weight_decay
    )


def lbfgs(params):
    return torch.optim.LBFGS(params, lr=0.1)


# Every optimizer in torch.optim but LBFGS skips the old weight (SparseAdam and Muon are left
# out: they need sparse gradients or 2-D parameters only).
not_tried = (torch.optim.Optimizer, torch.optim.LBFGS, torch.optim.SparseAdam, torch.optim.Muon)
first_order = [
    c
    for c in vars(torch.optim).values()
    if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and c not in not_tried
]
skip_runs = [old_weight_after_swap(sgd(0.9))]
skip_runs += [old_weight_after_swap(lambda p, c=c: c(p, lr=0.1)) for c in first_order]
_, lbfgs_grad, lbfgs_moved, _ = old_weight_after_swap(lbfgs)
_, _, lbfgs_moved_without_history, _ = old_weight_after_swap(lbfgs, clear_state=True)
print("did the old weight move in each of the two steps after the swap?")
any_moved = any(any(moved) for _, _, moved, _ in skip_runs)
any_counted = any(counted for *_, counted in skip_runs)
skipped = not any_moved and not any_counted
tried = "SGD(momentum=0.9), " + ", ".join(c.__name__ for c in first_order)
print(f"  {tried}: {any_moved} (counted a step: {any_counted})")
print("  LBFGS:", lbfgs_moved, end=", ")
print("with its history cleared at the swap:", lbfgs_moved_without_history)
_, zero_grad, zero_moved, _ = old_weight_after_swap(sgd(0.9), set_to_none=False)
_, decay_grad, decay_moved, _ = old_weight_after_swap(sgd(weight_decay=0.1), set_to_none=False)
_, _, adam_moved, _ = old_weight_after_swap(lambda p: torch.optim.Adam(p, lr=0.1), False)
_, _, asgd_moved, _ = old_weight_after_swap(lambda p: torch.optim.ASGD(p, lr=0.1), False)
_, _, asgd_moved_no_lambd, _ = old_weight_after_swap(
    lambda p: torch.optim.ASGD(p, lr=0.1, lambd=0.0), False
)
_, zero_grad_plain, zero_moved_plain, _ = old_weight_after_swap(sgd(), set_to_none=False)
print("  zero_grad(set_to_none=False), .grad zero:", not zero_grad.any().item())
print("    momentum 0.9:", zero_moved, end=", ")
print("weight decay 0.1:", decay_moved, end=", ")
print("Adam:", adam_moved, end=", ")
print("ASGD:", asgd_moved, "(with lambd=0:", asgd_moved_no_lambd, end="), ")
print("plain SGD:", zero_moved_plain)
# The same four, swapped before the first step: the old weight has no .grad to zero.
fresh_runs = [
    old_weight_after_swap(make, set_to_none=False, steps_before=0)
    for make in (sgd(0.9), sgd(weight_decay=0.1), lambda p: torch.optim.Adam(p, lr=0.1))
]
fresh_runs.append(
    old_weight_after_swap(lambda p: torch.optim.ASGD(p, lr=0.1), False, steps_before=0)
)
fresh_grads_none = all(at_swap is None and after is None for at_swap, after, *_ in fresh_runs)
fresh_moved = any(any(moved) for _, _, moved, _ in fresh_runs)
print("    the same four, swapped before the first step: .grad", end=" ")
print("None" if fresh_grads_none else "set", "| moved:", fresh_moved)
last_grad, stale_grad, stale_moved, _ = old_weight_after_swap(sgd(), zero_model=True)
print("  model.zero_grad(), momentum 0:", stale_moved, end=", ")
print(".grad still the one from before the swap:", torch.equal(stale_grad, last_grad))

# With this flag on, assign=True swaps the loaded tensors into the existing Parameter objects.
flag_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    seen_in_thread = []  # the switch is a global of the process: another thread sees it on
    reader = torch.__future__.get_swap_module_params_on_conversion
    thread = threading.Thread(target=lambda: seen_in_thread.append(reader()))
    thread.start()
    thread.join()
    swapped = nn.Linear(3, 1).to(device)
    swapped_weight = swapped.weight
    to_swap_in = copy.deepcopy(deep_copy)
    swapped.load_state_dict(to_swap_in, assign=True)
    keeps_object = swapped.weight is swapped_weight
    keeps_object = keeps_object and swapped.weight.data_ptr() == to_swap_in["weight"].data_ptr()
    swapped(X).sum().backward()  # gives the weight a .grad
    swapped.weight.tag, hook_calls = "mine", []  # an attribute and a hook on the weight
    swapped.weight.register_hook(lambda grad: hook_calls.append(grad))
    swapped.load_state_dict(cloned)  # assign=False copies the values, then swaps as well
    grad_after_load = swapped.weight.grad
    copied_values = torch.equal(swapped.weight.detach(), cloned["weight"])
    copied_values = copied_values and swapped.weight.data_ptr() != cloned["weight"].data_ptr()
    swapped(X).sum().backward()  # the hook would run here
    converted = nn.Linear(3, 1).to(device)
    converted_weight, converted.weight.tag, to_hook_calls = converted.weight, "mine", []
    converted.weight.register_hook(lambda grad: to_hook_calls.append(grad))
    converted.to(device)  # already there: dtype and device stay the same, yet .to() swaps
    converted(X).sum().backward()  # the hook would run here
finally:
    torch.__future__.set_swap_module_params_on_conversion(flag_before)  # leave the process as is
default_load_swaps = swapped.weight is swapped_weight and copied_values and grad_after_load is None
lost_hooks_and_attributes = not hasattr(swapped.weight, "tag") and not hook_calls
print("with set_swap_module_params_on_conversion(True), the same Parameter object:", keeps_object)
print("  then a default load with the weight's .grad set leaves .grad at:", grad_after_load)
print("  the weight's attribute and hook survive it:", not lost_hooks_and_attributes)
lost_on_to = not hasattr(converted.weight, "tag") and not to_hook_calls
print("  the attribute and hook survive a .to() that changes nothing:", not lost_on_to)

assert shares_storage  # witness: state-shares-storage
assert not state_requires_grad  # witness: state-is-detached
assert taken_followed_training and taken_moved  # witness: state-follows-training
assert copies_kept_old_values and copies_differ_from_model  # witness: copies-keep-old-values
assert file_kept_old_values  # witness: file-keeps-old-values
assert same_parameter_object and restored_old_values  # witness: load-keeps-parameter-objects
assert same_parameter_object and step_after_load_moved  # witness: optimizer-still-updates
holds_only_old = optimizer_holds_old and not optimizer_sees_model
assert takes_loaded_tensor and holds_only_old  # witness: assign-swaps-parameters
assert weight_object.grad is None  # witness: old-weight-gets-no-grad
assert torch.equal(weight_object.detach(), old_before)  # witness: step-skips-old-weight
assert new_weight.grad is not None  # witness: new-weight-gets-grad
new_weight_unchanged = torch.equal(new_weight.detach(), new_before)
assert not optimizer_sees_model and new_weight_unchanged  # witness: new-weight-not-in-optimizer
assert holds_none and model_unchanged and not caught  # witness: training-leaves-model-unchanged
assert takes_parameter_itself and model.weight.requires_grad  # witness: assign-takes-parameter
assert all(grad is None for _, grad, *_ in skip_runs) and skipped  # witness: skip
history_moves = any(lbfgs_moved) and not any(lbfgs_moved_without_history)
assert lbfgs_grad is None and history_moves  # witness: lbfgs-moves-old-weight
zero_grads = not (zero_grad.any() or decay_grad.any() or zero_grad_plain.any())
moved_by_state = all(zero_moved + decay_moved + adam_moved + asgd_moved)
not_moved = not any(zero_moved_plain + asgd_moved_no_lambd)
assert zero_grads and moved_by_state and not_moved  # witness: zero-grad-still-moves
assert fresh_grads_none and not fresh_moved  # witness: zero-grad-needs-old-grad
assert torch.equal(stale_grad, last_grad) and all(stale_moved)  # witness: stale-grad-moves
assert keeps_object  # witness: swap-keeps-parameter-objects
assert seen_in_thread == [True]  # witness: swap-flag-process-wide
assert default_load_swaps  # witness: swap-flag-default-load
assert lost_hooks_and_attributes  # witness: swap-drops-hooks-and-attributes
assert converted.weight is converted_weight and lost_on_to  # witness: swap-flag-to

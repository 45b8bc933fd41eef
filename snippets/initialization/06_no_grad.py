"""Why hand-written initialization runs under torch.no_grad(), and nn.init functions need not."""

import torch
from torch import nn

layer = nn.Linear(4, 3)

# Writing into a parameter while autograd is recording: refused, and the values stay as they were.
before_refused = layer.weight.detach().clone()
try:
    layer.weight.fill_(0.5)
    message = "no error"
except RuntimeError as error:
    message = f"{type(error).__name__}: {error}"
print(message)
refused_unchanged = torch.equal(layer.weight, before_refused)
# A view of the parameter counts as the parameter: writing into one row is refused too.
try:
    layer.weight[0].fill_(0.5)
    view_message = "no error"
except RuntimeError as error:
    view_message = str(error)
view_unchanged = torch.equal(layer.weight, before_refused)
print("writing into layer.weight[0]:", view_message)

# The same kind of write into a tensor that autograd computed (not a leaf) is allowed, and
# recorded: the write becomes the tensor's grad_fn, on top of the old one, and the gradient
# flows through it: d(source * 2 * 3)/d(source) = 6, where the unrecorded write would give 2.
# A leaf has no grad_fn to extend; recording the write would give it one, so it would no longer
# be a leaf, and its values would no longer be those its .grad is for.
source = torch.ones(3, requires_grad=True)
doubled = source * 2
history_before = doubled.grad_fn
doubled.mul_(3)
history_after = doubled.grad_fn
doubled.sum().backward()
print(
    f"in place on a computed tensor: allowed, grad_fn {history_before.name()} -> "
    f"{history_after.name()} on top of it, gradient {source.grad.tolist()}"
)
# Unless backward needs the value overwritten: exp saves its result, so writing into that result
# is allowed, and backward then fails (the check shown below for a weight).
exponent = torch.ones(3, requires_grad=True).exp()
exponent.add_(1)
try:
    exponent.sum().backward()
    saved_message = "no error"
except RuntimeError as error:
    saved_message = str(error)
print("in place on exp's saved result, backward:", saved_message[:70], "...")

# The same write with autograd switched off: allowed, and nothing is recorded.
with torch.no_grad():
    layer.weight.fill_(0.5)
filled = bool(torch.all(layer.weight == 0.5))
weight_is_leaf = layer.weight.is_leaf
no_history = layer.weight.grad_fn is None
print("filled:", filled, " still a leaf:", weight_is_leaf, " no history:", no_history)

# nn.init functions switch autograd off themselves, so they work without the with-block. They
# write into the tensor itself, not through .data: the write counts in the tensor's version,
# which autograd's checks read (a write through .data does not).
recording = torch.is_grad_enabled()
# _version is private: read here only to show the counter that autograd's checks use.
version_before = layer.bias._version
nn.init.constant_(layer.bias, 0.1)
init_works_outside = bool(torch.all(layer.bias == 0.1)) and layer.bias.is_leaf
init_seen_by_checks = layer.bias._version > version_before
print(f"nn.init.constant_ outside no_grad: {init_works_outside}, version up: {init_seen_by_checks}")

# A write under no_grad is still seen by autograd's checks; the same write through .data is not.
# Here the weight changes after a forward pass that saved it for the backward pass.
weight = nn.Parameter(torch.ones(3))
loss = (weight * weight).sum()  # the gradient is 2 * weight, with the weight of this pass: 2
with torch.no_grad():
    weight.mul_(3)
try:
    loss.backward()
except RuntimeError as error:
    stale_message = str(error)
print("written under no_grad, backward:", stale_message[:70], "...")

weight = nn.Parameter(torch.ones(3))
loss = (weight * weight).sum()
weight.data.mul_(3)  # hidden from autograd
loss.backward()  # no error, and a gradient computed from the new value: 2 * 3
data_gradient = weight.grad.tolist()
untouched = nn.Parameter(torch.ones(3))  # the same pass without the write: the right gradient
(untouched * untouched).sum().backward()
right_gradient = untouched.grad.tolist()
data_value, right_value = data_gradient[0], right_gradient[0]
right = f"(right: {right_gradient})"
print("written through .data, backward gives the gradient", data_gradient, right)

# Writing in place keeps the Parameter object; replacing it does not. An optimizer holds objects.
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, weight_decay=0.01)
with torch.no_grad():
    layer.weight.normal_(0.0, 0.01)
tracked_after_inplace = optimizer.param_groups[0]["params"][0] is layer.weight
old_weight = layer.weight
old_values = old_weight.detach().clone()
layer.weight = nn.Parameter(torch.zeros(3, 4))
new_values = layer.weight.detach().clone()
tracked_after_replace = optimizer.param_groups[0]["params"][0] is layer.weight
still_holds_old = optimizer.param_groups[0]["params"][0] is old_weight
layer(torch.ones(2, 4)).sum().backward()
optimizer.step()
old_unchanged = torch.equal(old_weight, old_values)
new_unchanged = torch.equal(layer.weight, new_values)
print("optimizer still holds layer.weight after in-place init:", tracked_after_inplace)
print("optimizer holds layer.weight after replacing it:       ", tracked_after_replace)
print(f"old weight: grad {old_weight.grad}, unchanged by the step: {old_unchanged}")
print(
    f"new weight: has a grad: {layer.weight.grad is not None}, "
    f"unchanged by the step: {new_unchanged}"
)


# The step skips the old weight because its .grad is None. A .grad of zeros, which
# zero_grad(set_to_none=False) leaves after an earlier step, lets weight decay change it, and
# momentum too: its buffer still holds the earlier steps.
def old_weight_moves(**sgd_options: float) -> bool:
    """Replace a weight after a step and zero_grad(set_to_none=False); does the next step move
    the old one, whose .grad stays zeros?"""
    second = nn.Linear(4, 3)
    second_optimizer = torch.optim.SGD(second.parameters(), lr=0.1, **sgd_options)
    second(torch.ones(2, 4)).sum().backward()
    second_optimizer.step()
    second_optimizer.zero_grad(set_to_none=False)
    zeroed_weight = second.weight
    zeroed_values = zeroed_weight.detach().clone()
    second.weight = nn.Parameter(torch.zeros(3, 4))
    second(torch.ones(2, 4)).sum().backward()
    second_optimizer.step()
    assert torch.all(zeroed_weight.grad == 0)
    return not torch.equal(zeroed_weight, zeroed_values)


decayed = old_weight_moves(weight_decay=0.01)
pushed_by_momentum = old_weight_moves(momentum=0.9)
print(
    f"old weight with a zero grad, changed by the step: weight decay {decayed}, "
    f"momentum without weight decay {pushed_by_momentum}"
)

assert (
    message.startswith("RuntimeError: a leaf Variable that requires grad") and refused_unchanged
)  # witness: leaf-refused
assert (
    view_message.startswith("a view of a leaf Variable") and view_unchanged
)  # witness: leaf-view-refused
assert (
    history_after is not history_before
    and history_after.next_functions[0][0] is history_before
    and source.grad.tolist() == [6.0, 6.0, 6.0]
)  # witness: non-leaf-write-recorded
assert filled and weight_is_leaf and no_history  # witness: no-grad-write-leaf
assert recording and init_works_outside and init_seen_by_checks  # witness: init-outside-no-grad
stale_quoted = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)
assert stale_message.startswith(stale_quoted)  # witness: no-grad-checked
assert saved_message.startswith(stale_quoted)  # witness: non-leaf-saved-value-checked
data_gradient_wrong = data_gradient == [6.0] * 3 and right_gradient == [2.0] * 3
assert data_gradient_wrong  # witness: data-write-wrong-gradient
assert tracked_after_inplace  # witness: inplace-keeps-object
assert still_holds_old and not tracked_after_replace  # witness: optimizer-holds-old
assert old_weight.grad is None and old_unchanged  # witness: old-gets-no-grad
assert layer.weight.grad is not None and new_unchanged  # witness: new-never-updated
assert decayed and pushed_by_momentum  # witness: zero-grad-still-moves

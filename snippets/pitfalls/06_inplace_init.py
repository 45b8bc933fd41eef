"""Changing a parameter in place outside torch.no_grad() is refused; assigning a tensor too."""

import torch
from torch import nn

layer = nn.Linear(3, 2)
leaf = layer.weight.is_leaf and layer.weight.requires_grad and layer.weight.grad_fn is None
try:
    layer.weight.fill_(0.5)  # the mistake: autograd would have to record this change
    message = ""
except RuntimeError as error:
    message = str(error)
print(f"RuntimeError: {message}")
try:
    layer.weight[0] = 0.5  # an indexed edit changes a view of the weight: refused the same way
    view_message = ""
except RuntimeError as error:
    view_message = str(error)
print(f"RuntimeError: {view_message}")

try:
    layer.weight = torch.full((2, 3), 0.5)  # another mistake: a plain tensor is not a Parameter
    assign_message = ""
except TypeError as error:
    assign_message = str(error)
print(f"TypeError: {assign_message}")

with torch.no_grad():  # the fix, or nn.init.constant_(layer.weight, 0.5), which does the same
    layer.weight.fill_(0.5)
still_parameter = isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad
print(
    "after no_grad fill_: all 0.5:",
    bool((layer.weight == 0.5).all()),
    " still a parameter:",
    still_parameter,
)

filled = bool((layer.weight == 0.5).all())
nn.init.constant_(layer.weight, 0.25)  # nn.init works under no_grad itself
init_works = bool((layer.weight == 0.25).all()) and layer.weight.is_leaf

# The refusal comes from being a leaf that requires grad: a frozen parameter takes the same fill_
# without no_grad, a plain leaf tensor that requires grad is refused like the weight, and a
# non-leaf that requires grad takes it (autograd records the fill_ in its history).
frozen = nn.Linear(3, 2)
frozen.weight.requires_grad_(False)
frozen.weight.fill_(0.5)
frozen_fill_works = bool((frozen.weight == 0.5).all()) and isinstance(frozen.weight, nn.Parameter)
print("frozen parameter (requires_grad=False): fill_ works:", frozen_fill_works)
plain = torch.ones(3, requires_grad=True)
try:
    plain.fill_(0.5)
    plain_message = ""
except RuntimeError as error:
    plain_message = str(error)
print(f"plain tensor with requires_grad=True: RuntimeError: {plain_message}")
product = torch.ones(3, requires_grad=True) * 1  # no leaf: it has a history
product.fill_(0.5)
non_leaf_fill_works = bool((product == 0.5).all()) and product.grad_fn is not None
print("non-leaf with requires_grad: fill_ works:", non_leaf_fill_works)

assert leaf  # witness: leaf
assert message.startswith(  # witness: inplace-refused
    "a leaf Variable that requires grad is being used in an in-place operation"
)
assert view_message.startswith(  # witness: view-refused
    "a view of a leaf Variable that requires grad is being used in an in-place operation"
)
assert assign_message.startswith("cannot assign")  # witness: assign-refused
assert still_parameter and filled  # witness: no-grad-fix
assert init_works  # witness: init-works
plain_refused = not isinstance(plain, nn.Parameter) and plain_message == message
assert frozen_fill_works and plain_refused  # witness: frozen-accepts-fill
non_leaf_accepts = product.requires_grad and not product.is_leaf and non_leaf_fill_works
assert frozen_fill_works and plain_refused and non_leaf_accepts  # witness: leaf-refusal

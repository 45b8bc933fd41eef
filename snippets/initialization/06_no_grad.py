"""Why hand-written initialization runs under torch.no_grad(), and nn.init functions need not."""

import torch
from torch import nn

layer = nn.Linear(4, 3)

# Writing into a parameter while autograd is recording: refused.
try:
    layer.weight.fill_(0.5)
    message = "no error"
except RuntimeError as error:
    message = f"{type(error).__name__}: {error}"
print(message)

# The same write with autograd switched off: allowed, and nothing is recorded.
with torch.no_grad():
    layer.weight.fill_(0.5)
filled = bool(torch.all(layer.weight == 0.5))
weight_is_leaf = layer.weight.is_leaf
no_history = layer.weight.grad_fn is None
print("filled:", filled, " still a leaf:", weight_is_leaf, " no history:", no_history)

# nn.init functions switch autograd off themselves, so they work without the with-block.
nn.init.constant_(layer.bias, 0.1)
init_works_outside = bool(torch.all(layer.bias == 0.1)) and layer.bias.is_leaf
print("nn.init.constant_ outside no_grad:", init_works_outside)

# Writing in place keeps the Parameter object; replacing it does not. An optimizer holds objects.
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
with torch.no_grad():
    layer.weight.normal_(0.0, 0.01)
tracked_after_inplace = optimizer.param_groups[0]["params"][0] is layer.weight
layer.weight = nn.Parameter(torch.zeros(3, 4))
tracked_after_replace = optimizer.param_groups[0]["params"][0] is layer.weight
print("optimizer still updates layer.weight after in-place init:", tracked_after_inplace)
print("optimizer still updates layer.weight after replacing it: ", tracked_after_replace)

assert message.startswith("RuntimeError: a leaf Variable that requires grad")
assert filled and weight_is_leaf and no_history and init_works_outside
assert tracked_after_inplace and not tracked_after_replace

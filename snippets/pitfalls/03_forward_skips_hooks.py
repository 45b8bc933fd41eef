"""Calling module.forward(x) skips everything module(x) does around forward: hooks included."""

import torch
from torch import nn

calls = []
layer = nn.Linear(3, 2)
layer.register_forward_hook(lambda module, inputs, output: calls.append("hook"))
x = torch.randn(4, 3)

layer(x)  # runs forward pre-hooks, forward, then forward hooks
layer.forward(x)  # the mistake: forward alone
hook_calls = len(calls)
print("two forward passes, hook calls:", hook_calls)

# Lazy modules create their parameters in a forward pre-hook, so forward() alone fails outright.
lazy = nn.LazyLinear(2)
try:
    lazy.forward(x)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message.split('. ')[0]}. [...]")
lazy_output_shape = tuple(lazy(x).shape)  # the fix: call the module
print("lazy(x) works:", lazy_output_shape)

assert hook_calls == 1
assert message.startswith("Attempted to use an uninitialized parameter")
assert lazy_output_shape == (4, 2)

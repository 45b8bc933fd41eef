"""Calling module.forward(x) skips everything module(x) does around forward: hooks included."""

import torch
from torch import nn

calls = []
layer = nn.Linear(3, 2)
layer.register_forward_pre_hook(lambda module, inputs: calls.append("pre-hook"))
layer.register_forward_hook(lambda module, inputs, output: calls.append("hook"))
x = torch.randn(4, 3)

layer(x)  # runs forward pre-hooks, forward, then forward hooks
calls_by_call = list(calls)
layer.forward(x)  # the mistake: forward alone
hook_calls = calls.count("hook")
print("layer(x) ran:", calls_by_call, " layer.forward(x) added:", calls[len(calls_by_call) :])

# Lazy modules create their parameters in a forward pre-hook, so forward() alone fails outright.
lazy = nn.LazyLinear(2)
pre_hooks_before = len(lazy._forward_pre_hooks)  # the lazy module's own, removed once it has run
try:
    lazy.forward(x)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message.split('. ')[0]}. [...]")
lazy_output_shape = tuple(lazy(x).shape)  # the fix: call the module
print("lazy(x) works:", lazy_output_shape)

assert calls_by_call == ["pre-hook", "hook"]  # witness: call-runs-hooks
assert hook_calls == 1 and len(calls) == 2  # witness: forward-skips-hooks
assert (pre_hooks_before, len(lazy._forward_pre_hooks)) == (1, 0)  # witness: lazy-pre-hook
assert message.startswith(
    "Attempted to use an uninitialized parameter"
)  # witness: lazy-forward-fails
assert lazy_output_shape == (4, 2)

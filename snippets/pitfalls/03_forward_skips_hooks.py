"""Calling module.forward(x) skips what module(x) does around forward: that module's own hooks."""

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

# Only the hooks of the module whose forward is called are skipped: its forward still calls the
# layers inside as modules, so their hooks fire.
seen = []
model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
model[0].register_forward_hook(lambda module, inputs, output: seen.append("inner hook"))
model.register_forward_hook(lambda module, inputs, output: seen.append("outer hook"))
model.forward(x)
print("model.forward(x) ran:", seen)

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

# A container's forward calls each lazy layer as a module, so their pre-hooks run.
lazy_model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
lazy_model_shape = tuple(lazy_model.forward(x).shape)
lazy_model_layers = [type(module).__name__ for module in lazy_model]
print("Sequential of lazy layers, .forward(x):", lazy_model_shape, lazy_model_layers)

assert calls_by_call == ["pre-hook", "hook"]  # witness: call-runs-hooks
assert hook_calls == 1 and len(calls) == 2  # witness: forward-skips-hooks
assert seen == ["inner hook"]  # witness: inner-hooks-still-fire
assert (pre_hooks_before, len(lazy._forward_pre_hooks)) == (1, 0)  # witness: lazy-pre-hook
assert message.startswith(
    "Attempted to use an uninitialized parameter"
)  # witness: lazy-forward-fails
assert lazy_output_shape == (4, 2)
materialized = lazy_model_layers == ["Linear", "ReLU", "Linear"]
assert lazy_model_shape == (4, 2) and materialized  # witness: lazy-inside-works

"""Calling module.forward(x) skips what module(x) does around forward: that module's hooks (forward,
backward and global ones), and the compiled code that module.compile() set up."""

import torch
from torch import nn

calls = []


class RecordingLinear(nn.Linear):  # an nn.Linear whose forward notes when it starts and ends
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        calls.append("forward start")
        out = super().forward(x)  # the parent's forward: no hook runs in it
        calls.append("forward end")
        return out


layer = RecordingLinear(3, 2)
layer.register_forward_pre_hook(lambda module, inputs: calls.append("pre-hook"))
layer.register_forward_hook(lambda module, inputs, output: calls.append("hook"))
layer.register_full_backward_hook(lambda module, grad_in, grad_out: calls.append("backward hook"))
x = torch.randn(4, 3, requires_grad=True)  # so that the backward hook has an input gradient

out = layer(x)  # pre-hooks, forward, hooks; the backward hook is put into the graph
calls_before_backward = list(calls)
out.sum().backward()  # the backward hook runs here
calls_by_call = list(calls)
layer.forward(x).sum().backward()  # the mistake: forward alone
hook_calls, forward_added = calls.count("hook"), calls[len(calls_by_call) :]
print("layer(x), then backward():", calls_by_call)
print("layer.forward(x), then backward() added:", forward_added)
x = x.detach()

# Hooks registered for every module are run by __call__ too, and skipped by forward().
global_calls = []
handle = nn.modules.module.register_module_forward_hook(
    lambda module, inputs, output: global_calls.append(type(module).__name__)
)
try:
    layer.forward(x)
    global_by_forward = len(global_calls)
    layer(x)
finally:
    handle.remove()  # a global hook would fire for every module called afterwards
print("global hook: after layer.forward(x)", global_by_forward, " after layer(x)", global_calls)

# After module.compile(), __call__ runs the compiled code; forward() runs the Python code.
compiled_runs = []


def counting_backend(graph_module, example_inputs):
    """A torch.compile backend that runs each graph unchanged and counts the runs."""

    def run(*args):
        compiled_runs.append(1)
        return graph_module.forward(*args)

    return run


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x))


block = Block()
block.compile(backend=counting_backend)
try:
    block(x)
    runs_after_call = len(compiled_runs)
    block.forward(x)
    runs_after_forward = len(compiled_runs)
finally:
    torch.compiler.reset()  # forget the compiled code, which lives in caches global to the process
runs = (runs_after_call, runs_after_forward)
print(f"compiled runs: after block(x) {runs[0]}, after block.forward(x) {runs[1]}")

# torch.compile(module) is different: it returns a wrapper module whose forward calls the module
# it wraps under the compiler, hooks included. A hook on the wrapper itself is skipped as usual.
wrapped, wrapped_hooks, wrapper_hooks = Block(), [], []
wrapped.register_forward_hook(lambda module, inputs, output: wrapped_hooks.append("hook"))
wrapper = torch.compile(wrapped, backend=counting_backend)
wrapper.register_forward_hook(lambda module, inputs, output: wrapper_hooks.append("hook"))
compiled_runs.clear()
try:
    wrapper(x)
    counts_after_call = (len(compiled_runs), len(wrapped_hooks), len(wrapper_hooks))
    wrapper.forward(x)
    counts_after_forward = (len(compiled_runs), len(wrapped_hooks), len(wrapper_hooks))
finally:
    torch.compiler.reset()
print("torch.compile wrapper, (compiled runs, model's hook, wrapper's hook):")
print("  after wrapper(x)", counts_after_call, " after wrapper.forward(x)", counts_after_forward)

# Only the hooks of the module whose forward is called are skipped: its forward still calls the
# layers inside as modules, so their hooks fire.
seen = []
model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
model[0].register_forward_hook(lambda module, inputs, output: seen.append("inner hook"))
model.register_forward_hook(lambda module, inputs, output: seen.append("outer hook"))
seen_globally = []  # a global hook fires for the layers inside, not for the Sequential
handle = nn.modules.module.register_module_forward_hook(
    lambda module, inputs, output: seen_globally.append(type(module).__name__)
)
try:
    model.forward(x)
finally:
    handle.remove()
print("model.forward(x) ran:", seen, " the global hook saw:", seen_globally)

# Lazy modules create their parameters in a forward pre-hook: with parameters still to create,
# forward() alone fails outright.
lazy = nn.LazyLinear(2)
hook_infers_parameters = list(lazy._forward_pre_hooks.values()) == [lazy._infer_parameters]
try:
    lazy.forward(x)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message.split('. ')[0]}. [...]")
lazy_output_shape = tuple(lazy(x).shape)  # the fix: call the module
by_hand = nn.LazyLinear(2)
by_hand._infer_parameters(by_hand, (x,))  # the pre-hook's work, done by hand (private, for show)
by_hand_works = tuple(by_hand.forward(x).shape) == (4, 2)
print("lazy(x) works:", lazy_output_shape)

# A container's forward calls each lazy layer as a module, so their pre-hooks run.
lazy_model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
lazy_model_shape = tuple(lazy_model.forward(x).shape)
lazy_model_layers = [type(module).__name__ for module in lazy_model]
print("Sequential of lazy layers, .forward(x):", lazy_model_shape, lazy_model_layers)

in_graph = out.grad_fn.name() == "BackwardHookFunctionBackward"
hooks_around = ["pre-hook", "forward start", "forward end", "hook"]
call_order = calls_before_backward == hooks_around and in_graph
call_order &= calls_by_call == [*calls_before_backward, "backward hook"]
assert call_order  # witness: call-runs-hooks
assert hook_calls == 1 and forward_added == hooks_around[1:3]  # witness: forward-skips-hooks
global_by_call = global_calls == ["RecordingLinear"]
assert global_by_forward == 0 and global_by_call  # witness: forward-skips-global-hooks
assert runs == (1, 1)  # witness: forward-skips-compiled
wraps = wrapper is not wrapped and wrapper._orig_mod is wrapped
forward_like_call = counts_after_call[:2] == (1, 1) and counts_after_forward[:2] == (2, 2)
assert wraps and forward_like_call  # witness: wrapper-forward-compiled
assert counts_after_call[2] == counts_after_forward[2] == 1  # witness: wrapper-own-hooks-skipped
inner_only = seen_globally == ["Linear", "ReLU", "Linear"]
assert seen == ["inner hook"] and inner_only  # witness: inner-hooks-still-fire
fails = message.startswith("Attempted to use an uninitialized parameter")
pre_hook_is_the_step = hook_infers_parameters and fails and by_hand_works
assert pre_hook_is_the_step and lazy_output_shape == (4, 2)  # witness: lazy-pre-hook
assert not lazy._forward_pre_hooks  # calling removed the pre-hook
materialized = lazy_model_layers == ["Linear", "ReLU", "Linear"]
assert lazy_model_shape == (4, 2) and materialized  # witness: lazy-inside-works

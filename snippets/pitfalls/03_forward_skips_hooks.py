"""Calling module.forward(x) skips what module(x) does around forward: that module's hooks (forward,
backward and global ones), and the compiled code that module.compile() set up."""

import warnings

import torch
from torch import nn

calls = []


class RecordingLinear(nn.Linear):  # an nn.Linear whose forward notes that it ran
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        calls.append("forward")
        return super().forward(x)


layer = RecordingLinear(3, 2)
layer.register_forward_pre_hook(lambda module, inputs: calls.append("pre-hook"))
layer.register_forward_hook(lambda module, inputs, output: calls.append("hook"))
layer.register_full_backward_hook(lambda module, grad_in, grad_out: calls.append("backward hook"))
# The input requires grad, so the backward hook gets an input gradient (see below for a plain x).
x = torch.randn(4, 3, requires_grad=True)

output = layer(x)  # runs the forward pre-hooks, then forward, then the forward hooks
# and puts the backward hooks into the graph, as a node on each side of the layer's own backward.
output_node = output.grad_fn  # after the layer's output
layer_node = output_node.next_functions[0][0]  # the layer's own backward (addmm)
hook_node = output_node.name()
input_node = next(  # before the layer's input: the next node stores x's gradient
    node for node, _ in layer_node.next_functions if node and node.name() == hook_node
)
nodes = {"output-side node": output_node, "layer's backward": layer_node}
nodes["input-side node"] = input_node
for name, node in nodes.items():  # note when autograd reaches each node
    node.register_prehook(lambda grad_outputs, name=name: calls.append(f"reached {name}"))
output.sum().backward()  # the hook runs at the input-side node, once the input's gradient is known
calls_by_call = list(calls)
layer.forward(x).sum().backward()  # the mistake: forward alone
hook_calls, forward_added = calls.count("hook"), calls[len(calls_by_call) :]
print("layer(x), then backward():", *calls_by_call, sep="\n  ")
print("layer.forward(x) added:", forward_added)
next_to_x = input_node.next_functions[0][0].variable is x
print("both nodes of the backward hooks:", hook_node, " the second leads to x:", next_to_x)
x = x.detach()

# With an input that does not require grad (plain data) there is no input-side node: the hook runs
# at the output-side node, before the layer's own backward, with None for the input's gradient.
plain_calls, plain_layer = [], nn.Linear(3, 2)
plain_layer.register_full_backward_hook(lambda module, grad_in, _: plain_calls.append(grad_in))
plain_output = plain_layer(x)
plain_layer_node = plain_output.grad_fn.next_functions[0][0]
plain_layer_node.register_prehook(lambda grad_outputs: plain_calls.append("layer's backward"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    plain_output.sum().backward()
plain_nodes = [node.name() for node, _ in plain_layer_node.next_functions if node]
print("plain x, then backward():", plain_calls)
print("  nodes after the layer's backward:", plain_nodes)
print("warning:", str(caught[0].message).split(" since")[0])

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

# After module.compile(), __call__ runs under the compiler: its hook handling stays Python, and
# forward and each hook that computes with tensors are compiled as graphs of their own. A hook
# that only does Python work gives no graph. forward() runs the Python code instead.
compiled_runs, graphs, python_hook_calls = [], [], []


def counting_backend(graph_module, example_inputs):
    """A torch.compile backend that notes the operations of each graph it gets, runs the graph
    unchanged and counts its runs."""
    graphs.append([node.name for node in graph_module.graph.nodes if node.op.startswith("call")])

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
block.register_forward_hook(lambda module, inputs, output: output * 1)  # a hook with tensor work
block.register_forward_hook(lambda module, inputs, output: python_hook_calls.append("hook"))
block.compile(backend=counting_backend)
try:
    block(x)
    runs_after_call = len(compiled_runs)
    block.forward(x)
    runs_after_forward = len(compiled_runs)
finally:
    torch.compiler.reset()  # forget the compiled code, which lives in caches global to the process
block_graphs = list(graphs)
print("graphs compiled for block(x):", block_graphs, " Python-only hook ran:", python_hook_calls)
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
    counts_after_call = (len(compiled_runs), len(wrapped_hooks))
    wrapper_hooks_after_call = len(wrapper_hooks)
    wrapper.forward(x)
    counts_after_forward = (len(compiled_runs), len(wrapped_hooks))
    wrapper_hooks_after_forward = len(wrapper_hooks)
finally:
    torch.compiler.reset()
wraps = wrapper is not wrapped and wrapper._orig_mod is wrapped
print("torch.compile wrapper, (compiled runs, hooks): after wrapper(x)", counts_after_call, end="")
print(", after wrapper.forward(x)", counts_after_forward)
print("  the wrapper's own hook: after wrapper(x)", wrapper_hooks_after_call, end="")
print(", after wrapper.forward(x)", wrapper_hooks_after_forward)

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

# Lazy modules create their parameters in a forward pre-hook, so forward() alone fails outright.
lazy = nn.LazyLinear(2)
pre_hooks_before = list(lazy._forward_pre_hooks.values())  # removed once it has run
hook_infers_parameters = pre_hooks_before == [lazy._infer_parameters]
try:
    lazy.forward(x)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message.split('. ')[0]}. [...]")
lazy_output_shape = tuple(lazy(x).shape)  # the fix: call the module
print("lazy(x) works:", lazy_output_shape)
print("its pre-hook:", pre_hooks_before[0].__name__, " left:", len(lazy._forward_pre_hooks))

# Run that pre-hook by hand, as __call__ would, and forward() alone works on a lazy layer too.
by_hand = nn.LazyLinear(2)
infer_parameters = next(iter(by_hand._forward_pre_hooks.values()))
infer_parameters(by_hand, (x,))
by_hand_shape = tuple(by_hand.forward(x).shape)
print("pre-hook run by hand, then forward(x):", by_hand_shape, type(by_hand).__name__)

# A container's forward calls each lazy layer as a module, so their pre-hooks run.
lazy_model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
lazy_model_shape = tuple(lazy_model.forward(x).shape)
lazy_model_layers = [type(module).__name__ for module in lazy_model]
print("Sequential of lazy layers, .forward(x):", lazy_model_shape, lazy_model_layers)

reached = [f"reached {name}" for name in nodes]
call_order = calls_by_call == ["pre-hook", "forward", "hook", *reached, "backward hook"]
hook_nodes = hook_node == "BackwardHookFunctionBackward" and next_to_x
assert call_order and hook_nodes  # witness: call-runs-hooks
no_input_node = hook_node not in plain_nodes and plain_calls == [(None,), "layer's backward"]
assert no_input_node and str(caught[0].message).startswith(  # witness: plain-input-one-node
    "Full backward hook is firing when gradients are computed with respect to module outputs"
)
assert hook_calls == 1 and forward_added == ["forward"]  # witness: forward-skips-hooks
global_by_call = global_calls == ["RecordingLinear"]
assert global_by_forward == 0 and global_by_call  # witness: forward-skips-global-hooks
graph_per_frame = block_graphs == [["linear", "relu"], ["mul"]]  # forward's graph, the hook's
assert graph_per_frame and runs == (2, 2)  # witness: forward-skips-compiled
python_hook_no_graph = graph_per_frame and python_hook_calls == ["hook"]  # it ran, with no graph
assert python_hook_no_graph  # witness: python-hook-no-graph
wrapper_counts = (counts_after_call, counts_after_forward)
assert wraps and wrapper_counts == ((1, 1), (2, 2))  # witness: wrapper-forward-compiled
wrapper_hook_calls = (wrapper_hooks_after_call, wrapper_hooks_after_forward)
assert wrapper_hook_calls == (1, 1)  # witness: wrapper-own-hooks-skipped
inner_only = seen_globally == ["Linear", "ReLU", "Linear"]
assert seen == ["inner hook"] and inner_only  # witness: inner-hooks-still-fire
lazy_hook = hook_infers_parameters and not lazy._forward_pre_hooks
hook_creates = by_hand_shape == (4, 2) and type(by_hand) is nn.Linear
assert lazy_hook and hook_creates  # witness: lazy-pre-hook
assert message.startswith(
    "Attempted to use an uninitialized parameter"
)  # witness: lazy-forward-fails
assert lazy_output_shape == (4, 2)
materialized = lazy_model_layers == ["Linear", "ReLU", "Linear"]
assert lazy_model_shape == (4, 2) and materialized  # witness: lazy-inside-works

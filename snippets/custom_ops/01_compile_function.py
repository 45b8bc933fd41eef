"""torch.compile traces into an autograd.Function: fine for code it can follow, stuck elsewhere."""
# guide: timeout=60

import logging
import math

import torch
from torch._dynamo.utils import counters  # counters["graph_break"]: graph breaks, by reason

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


def softplus_kernel(x: torch.Tensor) -> torch.Tensor:
    """Stands in for a kernel from another library: the work happens outside torch."""
    values = [math.log1p(math.exp(v)) for v in x.flatten().tolist()]
    return torch.tensor(values, dtype=x.dtype, device=x.device).reshape(x.shape)


class KernelSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return softplus_kernel(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


class SignedScale(torch.autograd.Function):
    """Only torch operations, but the forward branches on the values of its input."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # a Python `if` on a tensor's value
            return 2 * x
        return 3 * x

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class ReadsGradMode(RoundSTE):
    """RoundSTE's backward, and a forward that reads grad mode (eager mode turns it off there)."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return 2 * x if torch.is_grad_enabled() else 3 * x


weight = torch.tensor(3.0, device=device, requires_grad=True)  # defined outside the Function


class ReadsWeight(RoundSTE):
    """RoundSTE's backward, and a forward that reads a tensor that is not one of its inputs."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * weight


class RoundSTEWithJvp(RoundSTE):
    """RoundSTE with the jvp static method that forward-mode differentiation needs."""

    @staticmethod
    def jvp(ctx, tangent: torch.Tensor) -> torch.Tensor:
        return tangent


class TolistInBackward(RoundSTE):
    """RoundSTE with a backward that leaves torch, as another library's kernel would."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return torch.tensor(grad_output.tolist(), device=grad_output.device)


class ItemInForward(RoundSTE):
    """RoundSTE with a forward that takes a Python number out with .item()."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * x.abs().max().item()


outside_log = []


class LogsInBackward(RoundSTE):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        outside_log.append("backward")  # changes a list defined outside the Function
        return grad_output


def logs_and_sums(t: torch.Tensor) -> torch.Tensor:
    outside_log.append("plain")  # the same change, in ordinary code
    return (2 * t).sum()


graphs = []


def recording_backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
    """A do-nothing backend that keeps the graph Dynamo captured, to look at it."""
    graphs.append(gm)
    return gm.forward


def calls_round(graph: torch.fx.GraphModule) -> bool:
    return any(node.target is torch.round for node in graph.graph.nodes)


x = torch.tensor([-1.6, 0.2, 0.7, 1.4]).to(device)

# 1. A Function made of torch operations: Dynamo traces forward and backward, no graph break.
x_compiled = x.clone().requires_grad_()
compiled = torch.compile(lambda t: RoundSTE.apply(2 * t).sum(), backend="aot_eager", fullgraph=True)
compiled(x_compiled).backward()
print("compiled RoundSTE gradient:", x_compiled.grad.tolist())

recorded = torch.compile(lambda t: RoundSTE.apply(2 * t).sum(), backend=recording_backend)
recorded(x.clone().requires_grad_())
function_graphs = list(graphs)
subgraphs = ", ".join(name for name, _ in function_graphs[0].named_children())
print("subgraphs Dynamo captured for the Function:", subgraphs)
traced_forward = function_graphs[0].fwd_body_0
traced_backward = function_graphs[0].bwd_body_0.graph  # what Dynamo traced of RoundSTE.backward
recorded(x)  # no input requires grad: Dynamo compiles again, and inlines forward alone
no_grad_graph = graphs[-1]
print("without requires_grad:", [name for name, _ in no_grad_graph.named_children()], end=", ")
print("torch.round in the graph itself:", calls_round(no_grad_graph))
with torch.no_grad():  # an input that requires grad, but nothing is recorded: inlined again
    recorded(x.clone().requires_grad_())
under_no_grad_graph = graphs[-1]
under_no_grad_subgraphs = [name for name, _ in under_no_grad_graph.named_children()]
print("requires_grad under no_grad:", under_no_grad_subgraphs)
reads_grad_mode = torch.compile(ReadsGradMode.apply, backend="aot_eager", fullgraph=True)
ones = torch.ones(3, device=device)  # requires no grad: the forward is inlined
eager_reads, inlined_reads = ReadsGradMode.apply(ones), reads_grad_mode(ones)
with torch.no_grad():  # grad mode off: compiled again, and the inlined forward sees it off
    no_grad_reads = reads_grad_mode(ones)
print("a forward that reads grad mode, eager:", eager_reads.tolist(), end=" | ")
print("compiled:", inlined_reads.tolist(), "| compiled under no_grad:", no_grad_reads.tolist())
weighted_input = torch.tensor([1.0, 2.0, 5.0]).to(device)  # requires no grad, like ones
eager_weighted = ReadsWeight.apply(weighted_input)  # eager: forward runs with autograd off
reads_weight = torch.compile(ReadsWeight.apply, backend="aot_eager", fullgraph=True)
reads_weight(weighted_input).sum().backward()  # compiled: weight gets the sum of the input
print("ReadsWeight, eager output requires grad:", eager_weighted.requires_grad, end=", ")
print("weight.grad after the compiled call:", weight.grad.item())

# 2. A Function whose forward leaves torch: Dynamo cannot trace it, and fullgraph=True says so.
try:
    torch.compile(lambda t: KernelSoftplus.apply(t).sum(), backend="aot_eager", fullgraph=True)(x)
except torch._dynamo.exc.Unsupported as error:
    unsupported_message = str(error).splitlines()[0]
    print("KernelSoftplus:", type(error).__name__, "-", unsupported_message)

# Torch operations alone are not enough: Dynamo cannot follow an `if` on a tensor's value.
try:
    torch.compile(lambda t: SignedScale.apply(t).sum(), backend="aot_eager", fullgraph=True)(x)
except torch._dynamo.exc.Unsupported as error:
    branch_message = str(error).splitlines()[0]
    print("SignedScale:", type(error).__name__, "-", branch_message)


def fullgraph_error(function: object) -> str:
    """The first line of the error that fullgraph=True raises, or "" if it compiles."""
    try:
        torch.compile(function, backend="aot_eager", fullgraph=True)(x.clone().requires_grad_())
    except torch._dynamo.exc.Unsupported as error:
        return str(error).splitlines()[0]
    return ""


# Dynamo refuses a recorded call of a Function with jvp, or with a side effect in backward.
jvp_message = fullgraph_error(lambda t: RoundSTEWithJvp.apply(2 * t).sum())
side_effect_message = fullgraph_error(lambda t: LogsInBackward.apply(2 * t).sum())
plain_message = fullgraph_error(logs_and_sums)
print("RoundSTEWithJvp:", jvp_message, "| LogsInBackward:", side_effect_message)
print("the same append in ordinary code:", plain_message or "compiles", outside_log)

# Without fullgraph=True, Dynamo breaks the graph at a recorded call of RoundSTEWithJvp.
graphs.clear()
jvp_breaks_before = sum(n for k, n in counters["graph_break"].items() if "custom jvp" in k)
jvp_split = torch.compile(lambda t: RoundSTEWithJvp.apply(2 * t).sum(), backend=recording_backend)
jvp_split(x.clone().requires_grad_()).backward()
jvp_breaks = sum(n for k, n in counters["graph_break"].items() if "custom jvp" in k)
jvp_breaks -= jvp_breaks_before
jvp_graphs = [[getattr(n.target, "__name__", str(n.target)) for n in g.graph.nodes] for g in graphs]
print("RoundSTEWithJvp without fullgraph:", len(jvp_graphs), "graphs,", jvp_breaks, "jvp break")


# Dynamo traces backward too when the call is recorded: leaving torch there is refused as well.
def tolist_in_backward(t: torch.Tensor) -> torch.Tensor:
    return TolistInBackward.apply(2 * t).sum()


backward_message = fullgraph_error(tolist_in_backward)
not_recorded = torch.compile(tolist_in_backward, backend="aot_eager", fullgraph=True)(x)
print("TolistInBackward, recorded:", backward_message, "| not recorded: compiles")


# .item() in forward: compiles when not recorded; recorded, it fails, and not with Unsupported.
def item_in_forward(t: torch.Tensor) -> torch.Tensor:
    return ItemInForward.apply(2 * t).sum()


item_compiled = torch.compile(item_in_forward, backend="aot_eager", fullgraph=True)
item_not_recorded = item_compiled(x)
try:
    item_compiled(x.clone().requires_grad_())
    item_error = None
except Exception as error:  # fullgraph_error, which catches Unsupported only, would not catch it
    item_error = error
item_outcome = "compiles" if item_error is None else type(item_error).__name__
print("ItemInForward, recorded:", item_outcome, "| not recorded: compiles")

# Without fullgraph=True the same code runs, cut into several graphs around what Dynamo can't trace.
graphs.clear()
x_split = x.clone().requires_grad_()
split = torch.compile(lambda t: KernelSoftplus.apply(2 * t).sum(), backend=recording_backend)
split(x_split).backward()
graphs_without_fullgraph = len(graphs)
print("graphs captured without fullgraph:", graphs_without_fullgraph)
x_eager = x.clone().requires_grad_()
KernelSoftplus.apply(2 * x_eager).sum().backward()

# The piece after .tolist() is compiled for the numbers it received: new values, new graph.
dynamo_log = logging.getLogger("torch._dynamo")
dynamo_warnings = []
capture = logging.Handler()
capture.emit = lambda record: dynamo_warnings.append(record.getMessage())


def builds_tensor_of(graph_module: torch.fx.GraphModule, numbers: list) -> bool:
    """Whether the graph calls torch.tensor on these numbers, as constants (to rounding)."""
    calls = [node for node in graph_module.graph.nodes if node.target is torch.tensor]
    return any(
        len(node.args[0]) == len(numbers) and all(map(math.isclose, node.args[0], numbers))
        for node in calls
    )


def graphs_compiled_for(values: list) -> tuple[list, torch.Tensor]:
    before = len(graphs)
    t = torch.tensor(values).to(device).requires_grad_()
    split(t).backward()
    return graphs[before:], t


new_inputs = [[0.1 * i, 0.2, 0.7, 1.4] for i in range(10)]
graphs_per_new_input = []
holds_its_numbers = []  # does each new graph build its tensor from this input's numbers?
stderr_handlers, dynamo_log.handlers = dynamo_log.handlers, [capture]  # keep the output clean
try:
    graphs_for_same_input = len(graphs_compiled_for(x.tolist())[0])
    for values in new_inputs:
        new_graphs, t_last = graphs_compiled_for(values)
        graphs_per_new_input.append(len(new_graphs))
        numbers = [math.log1p(math.exp(v)) for v in (2 * t_last).tolist()]  # the kernel's results
        holds_its_numbers.append(all(builds_tensor_of(gm, numbers) for gm in new_graphs))
finally:
    dynamo_log.handlers = stderr_handlers
recompile_limit = torch._dynamo.config.recompile_limit
limit_warning = dynamo_warnings[0].splitlines()[0]
print("new graphs for the same input again:", graphs_for_same_input)
print("new graphs for each of 10 new inputs:", graphs_per_new_input)
print("Dynamo's warning:", limit_warning)
t_eager = torch.tensor(new_inputs[-1]).to(device).requires_grad_()
KernelSoftplus.apply(2 * t_eager).sum().backward()
compiled_versions = 1 + sum(graphs_per_new_input)  # the first call compiled one version

assert torch.equal(x_compiled.grad, torch.full_like(x, 2.0))  # witness: compiled-function-works
inlined = not list(no_grad_graph.named_children()) and calls_round(no_grad_graph)
inlined &= under_no_grad_graph is not no_grad_graph and not under_no_grad_subgraphs
inlined &= calls_round(under_no_grad_graph)
assert inlined  # witness: backward-only-with-grad
assert len(function_graphs) == 1 and calls_round(traced_forward)  # witness: forward-traced
reads_caller_mode = torch.equal(eager_reads, 3 * ones) and torch.equal(inlined_reads, 2 * ones)
reads_caller_mode &= torch.equal(no_grad_reads, 3 * ones)  # the caller's mode, off this time
assert reads_caller_mode  # witness: inlined-reads-grad-mode
records_weight = eager_weighted.grad_fn is None and torch.equal(weight.grad, weighted_input.sum())
assert records_weight  # witness: inlined-records-outside-tensor
backward_inputs = [node for node in traced_backward.nodes if node.op == "placeholder"]
returned = next(node for node in traced_backward.nodes if node.op == "output").args[0]
returns_gradient = len(backward_inputs) == 1 and tuple(returned) == tuple(backward_inputs)
assert "bwd_body" in subgraphs and returns_gradient  # witness: backward-traced
assert "tolist" in unsupported_message  # witness: opaque-function-breaks
assert graphs_without_fullgraph > 1  # witness: split-without-fullgraph
assert torch.allclose(x_split.grad, x_eager.grad)  # witness: split-still-correct
assert "Data-dependent branching" in branch_message  # witness: value-branch-breaks
recompiled_each_time = set(graphs_per_new_input[: recompile_limit - 1]) == {1}
constants = all(holds_its_numbers[: recompile_limit - 1])  # the piece after .tolist(), specialized
per_value = recompiled_each_time and constants
assert graphs_for_same_input == 0 and per_value  # witness: recompiles-per-value
none_after_limit = set(graphs_per_new_input[recompile_limit - 1 :]) == {0}
names_the_piece = "resume_in_softplus_kernel" in dynamo_warnings[0]  # the code after .tolist()
stopped = compiled_versions == recompile_limit and none_after_limit and names_the_piece
assert stopped  # witness: stops-at-limit
assert "recompile_limit" in limit_warning
assert torch.allclose(t_last.grad, t_eager.grad)  # witness: correct-after-limit
jvp_refused = "Unsupported custom jvp" in jvp_message
assert jvp_refused  # witness: jvp-not-traced
mul_at = [i for i, names in enumerate(jvp_graphs) if "mul" in names]
sum_at = [i for i, names in enumerate(jvp_graphs) if "sum" in names]
split_at_call = len(mul_at) == len(sum_at) == 1 and mul_at[0] < sum_at[0] and jvp_breaks == 1
own_forward = [
    "round" in names and "mul" not in names and "sum" not in names for names in jvp_graphs
]
split_at_call &= any(own_forward)  # the Function's own forward, in a graph of its own
# compiled between the two pieces: eager apply calls forward after the break, as a frame of its own
split_at_call = split_at_call and mul_at[0] < own_forward.index(True) < sum_at[0]
split_at_call &= len(jvp_graphs) == 3  # and no graph besides these three
assert split_at_call  # witness: jvp-breaks-graph
side_effect_refused = side_effect_message.startswith("HOP: Unsafe side effect")
plain_compiles = not plain_message and outside_log == ["plain"]
assert plain_compiles and side_effect_refused  # witness: backward-no-side-effects
forward_compiles = torch.equal(not_recorded, torch.round(2 * x).sum())
same_error = backward_message == unsupported_message
assert same_error and forward_compiles  # witness: backward-traced-limits
item_traced = torch.allclose(item_not_recorded, (2 * x * (2 * x).abs().max()).sum())
internal = isinstance(item_error, torch._dynamo.exc.InternalTorchDynamoError)
internal &= not isinstance(item_error, torch._dynamo.exc.Unsupported)
internal &= str(item_error).startswith("PendingUnbackedSymbolNotFound")
assert item_traced and internal  # witness: item-recorded-only

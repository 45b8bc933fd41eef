"""torch.compile traces into an autograd.Function: fine for torch code, stuck on anything else."""
# guide: timeout=60

import math

import torch

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


graphs = []


def recording_backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
    """A do-nothing backend that keeps the graph Dynamo captured, to look at it."""
    graphs.append(gm)
    return gm.forward


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
forward_code = function_graphs[0].fwd_body_0.code  # the traced forward, as Python source

# 2. A Function whose forward leaves torch: Dynamo cannot trace it, and fullgraph=True says so.
try:
    torch.compile(lambda t: KernelSoftplus.apply(t).sum(), backend="aot_eager", fullgraph=True)(x)
except torch._dynamo.exc.Unsupported as error:
    unsupported_message = str(error).splitlines()[0]
    print("KernelSoftplus:", type(error).__name__, "-", unsupported_message)

# Without fullgraph=True the same code runs, cut into several graphs around what Dynamo can't trace.
graphs.clear()
x_split = x.clone().requires_grad_()
split = torch.compile(lambda t: KernelSoftplus.apply(2 * t).sum(), backend=recording_backend)
split(x_split).backward()
graphs_without_fullgraph = len(graphs)
print("graphs captured without fullgraph:", graphs_without_fullgraph)
x_eager = x.clone().requires_grad_()
KernelSoftplus.apply(2 * x_eager).sum().backward()

assert torch.equal(x_compiled.grad, torch.full_like(x, 2.0))  # witness: compiled-function-works
assert len(function_graphs) == 1 and "torch.round" in forward_code  # witness: forward-traced
assert "bwd_body" in subgraphs  # witness: backward-traced
assert "tolist" in unsupported_message  # witness: opaque-function-breaks
assert graphs_without_fullgraph > 1  # witness: split-without-fullgraph
assert torch.allclose(x_split.grad, x_eager.grad)  # witness: split-still-correct

"""A custom op: torch.compile keeps its kernel as one opaque node and traces its backward."""
# guide: timeout=60

import math

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch._dynamo.backends.common import aot_autograd
from torch._functorch.aot_autograd import make_boxed_func
from torch._subclasses import FakeTensor
from torch._subclasses.fake_tensor import is_fake

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def softplus_kernel(x: torch.Tensor) -> torch.Tensor:
    """Stands in for a kernel from another library: the work happens outside torch."""
    values = [math.log1p(math.exp(v)) for v in x.flatten().tolist()]
    return torch.tensor(values, dtype=x.dtype, device=x.device).reshape(x.shape)


kernel_got_fake, fake_got_fake = [], []  # recorded to check who receives tensors without data
kernel_got_real = []  # a plain torch.Tensor: not fake, not meta, not a subclass


@torch.library.custom_op("guide::softplus", mutates_args=())
def softplus(x: torch.Tensor) -> torch.Tensor:
    kernel_got_fake.append(isinstance(x, FakeTensor))
    kernel_got_real.append(type(x) is torch.Tensor and x.device.type != "meta")
    return softplus_kernel(x)  # the type hints above become the op's schema


@softplus.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    # Called on tensors without data while compiling: describe the output, compute nothing.
    fake_got_fake.append(isinstance(x, FakeTensor))
    return torch.empty_like(x)


def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
    ctx.save_for_backward(inputs[0])


backward_calls = []  # one entry each time this Python function runs: who runs it, on what


def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    dynamo_tracing = torch.compiler.is_dynamo_compiling()  # True only while Dynamo traces
    without_data = is_fake(grad_output)  # a fake tensor (wrapped for tracing): no data
    backward_calls.append((dynamo_tracing, without_data))
    (x,) = ctx.saved_tensors
    return grad_output * torch.sigmoid(x)


softplus.register_autograd(backward, setup_context=setup_context)
schema = str(torch.ops.guide.softplus.default._schema)  # the op, by its registered name
print("schema:", schema)


@torch.library.custom_op("guide::scaled", mutates_args=())
def scaled(x: torch.Tensor, *, scale: float) -> torch.Tensor:  # other hints: another schema
    return x * scale


scaled_schema = str(torch.ops.guide.scaled.default._schema)
print("schema of scaled:", scaled_schema)

graphs = []


def recording_backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
    graphs.append(gm)
    return gm.forward


aot_graphs = {}  # the operations in the forward and backward graphs that AOTAutograd traced


def keep(kind: str) -> object:
    def compiler(gm: torch.fx.GraphModule, example_inputs: list) -> object:
        aot_graphs[kind] = [str(n.target) for n in gm.graph.nodes if n.op == "call_function"]
        return make_boxed_func(gm.forward)

    return compiler


keeping_aot_eager = aot_autograd(fw_compiler=keep("forward"), bw_compiler=keep("backward"))


x = torch.tensor([-1.6, 0.2, 0.7, 1.4]).to(device)

x_eager = x.clone().requires_grad_()
softplus(2 * x_eager).sum().backward()

x_compiled = x.clone().requires_grad_()
compiled = torch.compile(lambda t: softplus(2 * t).sum(), backend=keeping_aot_eager, fullgraph=True)
kernel_calls_before = len(kernel_got_fake)
calls_before = len(backward_calls)
compiled_loss = compiled(x_compiled)  # compiles: traces forward and backward graphs
kernel_calls_compiling = len(kernel_got_fake) - kernel_calls_before  # compiling, then running
python_backward_compiling = len(backward_calls) - calls_before
backward_while_compiling = backward_calls[-1]  # (traced by Dynamo?, on tensors without data?)
calls_before = len(backward_calls)
compiled_loss.backward()
python_backward_runs = len(backward_calls) - calls_before
calls_before = len(backward_calls)
compiled(x.clone().add(1).requires_grad_()).backward()  # new values, same shape: no new compile
python_backward_runs += len(backward_calls) - calls_before
print("eager gradient:   ", [round(v, 4) for v in x_eager.grad.tolist()])
print("compiled gradient:", [round(v, 4) for v in x_compiled.grad.tolist()])
print("forward graph: ", aot_graphs["forward"])
print("backward graph:", aot_graphs["backward"])
print("Python backward calls while compiling:", python_backward_compiling, end="; ")
print("while two compiled backward passes ran:", python_backward_runs)
print("while compiling: (Dynamo tracing, tensors without data) =", backward_while_compiling)

recorded_call = torch.compile(
    lambda t: softplus(2 * t).sum(), backend=recording_backend, fullgraph=True
)
recorded_call(x.clone().requires_grad_())  # recorded: a Function would get a backward subgraph
graph_calls = [str(node.target) for node in graphs[0].graph.nodes if node.op != "placeholder"]
dynamo_subgraphs = [name for name, _ in graphs[0].named_children()]  # a Function's: fwd and bwd
print("nodes in the captured graph:", graph_calls, "- subgraphs:", dynamo_subgraphs)


# The same op without register_fake and register_autograd.
@torch.library.custom_op("guide::bare_softplus", mutates_args=())
def bare_softplus(x: torch.Tensor) -> torch.Tensor:
    return softplus_kernel(x)


bare_out = bare_softplus(x.clone().requires_grad_())  # the forward runs, and is recorded
try:
    bare_out.sum().backward()
except RuntimeError as error:
    no_autograd_message = str(error)
    print("backward without register_autograd:", no_autograd_message.split(". ")[0])
try:
    torch.compile(lambda t: bare_softplus(2 * t).sum(), backend="aot_eager", fullgraph=True)(x)
except RuntimeError as error:
    no_fake_message = str(error)
    start = no_fake_message.index("There was no fake impl")
    print("compile without register_fake:", no_fake_message[start:].split(". ")[0])


# register_autograd calls setup_context by keyword: other parameter names fail at the first call
# that autograd records, not before.
@torch.library.custom_op("guide::renamed_softplus", mutates_args=())
def renamed_softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)


def setup_with_other_names(context, inputs: tuple, output: torch.Tensor) -> None:
    context.save_for_backward(inputs[0])


renamed_softplus.register_autograd(backward, setup_context=setup_with_other_names)  # accepted
with torch.no_grad():  # not recorded, though the input requires a gradient: runs
    unrecorded_works = torch.allclose(renamed_softplus(x.clone().requires_grad_()), F.softplus(x))
try:
    renamed_softplus(x.clone().requires_grad_())
    keyword_message = ""
except TypeError as error:
    keyword_message = str(error)
print("setup_context(context, inputs, output):", keyword_message)


# An op with keyword-only arguments: setup_context takes them as keyword_only_inputs.
def scaled_backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    return grad_output * ctx.scale


def setup_without_keywords(ctx, inputs: tuple, output: torch.Tensor) -> None:
    ctx.scale = 1.0


def setup_with_keywords(ctx, inputs: tuple, keyword_only_inputs: dict, output: torch.Tensor):
    ctx.scale = keyword_only_inputs["scale"]


scaled.register_autograd(scaled_backward, setup_context=setup_without_keywords)
try:
    scaled(x.clone().requires_grad_(), scale=5.0)
    three_parameter_message = ""
except TypeError as error:
    three_parameter_message = str(error)
scaled.register_autograd(scaled_backward, setup_context=setup_with_keywords)
x_scaled = x.clone().requires_grad_()
scaled(x_scaled, scale=5.0).sum().backward()
print("scaled, setup_context(ctx, inputs, output):", three_parameter_message)
print("with keyword_only_inputs, gradient:", x_scaled.grad.tolist())

# torch.func's transforms that differentiate refuse the op (torch 2.11 to 2.13): autograd wraps it
# in a Function in the older style, forward(ctx, ...) without setup_context.
func_messages = []
for transform in (torch.func.grad, torch.func.jacrev):
    try:
        transform(lambda t: softplus(t).sum())(x)
    except RuntimeError as error:
        func_messages.append(str(error))
print("torch.func.grad and jacrev refuse it:", len(func_messages) == 2, "-", end=" ")
print(func_messages[0].split(". ")[0] if func_messages else "")
generated = softplus(x.clone().requires_grad_()).grad_fn._forward_cls  # the wrapping Function
no_setup_context = generated.setup_context is torch.autograd.Function.setup_context


# torch.func's forward-mode transforms (jvp, jacfwd) do not refuse it, and get zeros, even for an
# op whose kernel is made of torch operations. The true derivative is sigmoid(x).
@torch.library.custom_op("guide::torch_softplus", mutates_args=())
def torch_softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)  # torch operations only, run with autograd switched off


torch_softplus.register_autograd(backward, setup_context=setup_context)
_, tangent = torch.func.jvp(softplus, (x,), (torch.ones_like(x),))
jacfwd_diagonal = torch.func.jacfwd(lambda t: softplus(t).sum())(x)
_, torch_kernel_tangent = torch.func.jvp(torch_softplus, (x,), (torch.ones_like(x),))
_, plain_tangent = torch.func.jvp(F.softplus, (x,), (torch.ones_like(x),))  # no op: sigmoid(x)
print("torch.func.jvp's tangent:", tangent.tolist(), " jacfwd:", jacfwd_diagonal.tolist())
print("jvp of torch_softplus:", torch_kernel_tangent.tolist())
with fwAD.dual_level():  # forward mode without torch.func, on an input that requires a gradient
    dual_requiring_grad = fwAD.make_dual(x.clone().requires_grad_(), torch.ones_like(x))
    try:  # the op's autograd path: a Function without jvp
        torch_softplus(dual_requiring_grad)
        forward_ad_message = ""
    except NotImplementedError as error:
        forward_ad_message = str(error)
print("forward_ad, input requiring a gradient:", forward_ad_message.split(" for ")[0])
try:  # strict=True says why
    torch.func.jvp(softplus, (x,), (torch.ones_like(x),), strict=True)
    strict_message = ""
except RuntimeError as error:
    strict_message = str(error)
print("with strict=True:", strict_message)
_, mixed = torch.func.jvp(lambda t: 2 * softplus(t) + t, (x,), (torch.ones_like(x),))
print("jvp of 2 * softplus(x) + x:", mixed.tolist(), "(the op's part dropped out)")

assert torch.allclose(softplus(x), F.softplus(x))
from_hints = schema == "guide::softplus(Tensor x) -> Tensor"
from_hints &= scaled_schema == "guide::scaled(Tensor x, *, float scale) -> Tensor"
assert from_hints  # witness: schema-from-hints
assert torch.allclose(x_compiled.grad, x_eager.grad)  # witness: custom-op-compiles
op_at = graph_calls.index("guide.softplus.default")
between = "mul" in graph_calls[op_at - 1] and graph_calls[op_at + 1] == "sum"
assert graph_calls.count("guide.softplus.default") == 1 and between  # witness: one-opaque-node
kernel_real_only = all(kernel_got_real) and not any(kernel_got_fake)
fake_instead = all(fake_got_fake) and fake_got_fake and kernel_calls_compiling == 1  # the run only
assert fake_instead and kernel_real_only  # witness: fake-gets-fake
in_graph = "aten.sigmoid.default" in aot_graphs["backward"]  # backward's torch.sigmoid, traced
no_op_call = not any("guide" in op for op in aot_graphs["backward"])
assert in_graph and no_op_call and python_backward_runs == 0  # witness: backward-traced
by_aot = backward_while_compiling == (False, True) and not dynamo_subgraphs
assert by_aot and python_backward_compiling == 1  # witness: aot-traces-backward
assert python_backward_compiling == 1 and python_backward_runs == 0  # witness: side-effect-once
old_style = "must override the setup_context staticmethod"
func_refused = len(func_messages) == 2 and all(old_style in m for m in func_messages)
assert func_refused and no_setup_context  # witness: func-transforms-refuse-op
zero_tangents = not tangent.any() and not jacfwd_diagonal.any()
independent = "independent of the inputs" in strict_message and torch.equal(
    mixed, torch.ones_like(x)
)
torch_kernel_too = not torch_kernel_tangent.any()
torch_kernel_too &= torch.allclose(plain_tangent, torch.sigmoid(x))
assert zero_tangents and independent  # witness: forward-mode-gives-zeros
assert torch_kernel_too  # witness: torch-kernel-gives-zeros
jvp_refused = forward_ad_message.startswith("You must implement the jvp function")
assert jvp_refused  # witness: forward-ad-refuses-autograd-path
refused = "no autograd formula was registered" in no_autograd_message
assert bare_out.requires_grad and refused  # witness: needs-autograd
assert "There was no fake impl registered" in no_fake_message  # witness: needs-fake
by_keyword = "unexpected keyword argument 'ctx'" in keyword_message
assert unrecorded_works and by_keyword  # witness: setup-context-by-keyword
needs_keywords = "unexpected keyword argument 'keyword_only_inputs'" in three_parameter_message
gets_scale = torch.equal(x_scaled.grad, torch.full_like(x, 5.0))
assert needs_keywords and gets_scale  # witness: keyword-only-inputs

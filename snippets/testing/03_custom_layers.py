"""check_module on CenteredLayer and D2L's MyLinear; it catches D2L's `.data` version of MyLinear.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module
from torch import nn
from torch.nn.parameter import is_lazy

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CenteredLayer(nn.Module):
    """Subtracts each example's mean over its features. It has no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class MyLinear(nn.Module):
    """D2L's MyLinear without its `.data` bug: ReLU(x @ W + b), W of shape (in, out).

    Not the MyLinear of the custom-layers chapter, which computes x @ W.T + b, as nn.Linear does.
    """

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight + self.bias)


class DataMyLinear(MyLinear):
    """D2L's version: `.data` hands forward the raw values, outside autograd's view."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.data + self.bias.data)


torch.manual_seed(0)
# CenteredLayer has no parameter or buffer to take the device from: pass it.
centered = check_module(
    CenteredLayer(), input_shape=(4, 5), expected_output_shape=(4, 5), device=device
)
print(centered)
linear = check_module(MyLinear(5, 3).to(device), input_shape=(4, 5), expected_output_shape=(4, 3))
print(linear)

broken = DataMyLinear(5, 3).to(device)
try:
    check_module(broken, input_shape=(4, 5), expected_output_shape=(4, 3))
    message = ""
except AssertionError as error:
    message = str(error)
left_as_found = broken.training and broken.weight.grad is None  # the check restores both
print(f"AssertionError: {message}")

# The wrong shape is caught too: a layer built with 4 outputs where 3 were expected.
try:
    check_module(MyLinear(5, 4).to(device), input_shape=(4, 5), expected_output_shape=(4, 3))
    shape_message = ""
except AssertionError as error:
    shape_message = str(error)
print(f"AssertionError: {shape_message}")


class LayerScaleBlock(nn.Module):
    """x + gamma * linear(x), gamma starting tiny (LayerScale): real gradients, a millionth."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, features)
        self.gamma = nn.Parameter(torch.full((features,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma * self.linear(x)


block = LayerScaleBlock(5).to(device)
try:
    check_module(block, input_shape=(4, 5), expected_output_shape=(4, 5))
    tiny_message = ""
except AssertionError as error:
    tiny_message = str(error)
block_with_low_rtol = check_module(block, (4, 5), (4, 5), grad_rtol=1e-9).trained
print(f"AssertionError: {tiny_message}")
print("with grad_rtol=1e-9, gradients reach:", block_with_low_rtol)


class ScaledBack(nn.Module):
    """Finite output, but its backward pass multiplies by 9e4: past float16's largest, 65504."""

    def __init__(self) -> None:
        super().__init__()
        self.s = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.s / 300 / 300 * 300 * 300


try:  # its own float16 backward overflows, though the float32 one does not
    check_module(ScaledBack().to(device, torch.float16), (4, 3), (4, 3))
    overflow_message = ""
except AssertionError as error:
    overflow_message = str(error)
print(f"float16 ScaledBack: AssertionError: {overflow_message}")
float32_trained = check_module(ScaledBack().to(device), (4, 3), (4, 3)).trained
print("float32 ScaledBack passes; gradients reach:", float32_trained)


class ScaledAway(ScaledBack):
    """Scales by 1e-10, below float16's smallest number: its float16 output and gradients are 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.s * 1e-5 * 1e-5


away = ScaledAway().to(device, torch.float16)
away_input = torch.randn(4, 3).to(device, torch.float16).requires_grad_()
away_output = away(away_input)
away_output.sum().backward()
gradients = (away.s.grad, away_input.grad)
away_all_zero = not away_output.any() and not any(g.any() for g in gradients)  # learns nothing
away.s.grad = None
away_trained = check_module(away, (4, 3), (4, 3)).trained  # check 3 is decided in float32
print(
    "float16 ScaledAway: output and gradients all zero:",
    away_all_zero,
    " passes; reach:",
    away_trained,
)

lazy = nn.LazyBatchNorm1d(affine=False)
try:  # a lazy module, here one whose only lazy tensors are buffers, is refused
    check_module(lazy, (4, 5), (4, 5))
    lazy_message = ""
except AssertionError as error:
    lazy_message = str(error)
print(f"AssertionError: {lazy_message}")


class PlainList(nn.Module):
    """Its layer sits in a plain Python list, where nn.Module does not look; nn.ModuleList would."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.Linear(5, 3)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[0](x)


class PlainWeight(nn.Module):
    """Its weight is a plain tensor attribute, not an nn.Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.randn(5, 3, requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight


# Neither has parameters, so there is nothing for check 3 to miss, unless the test names them.
plain_checks, plain_messages = [], []
plain_list, plain_weight = PlainList(), PlainWeight()
hidden = [plain_list.layers[0].weight, plain_weight.weight]  # an nn.Parameter, a plain tensor
grads_before = [t.grad for t in hidden]  # None: no backward has run
for plain, names in ((plain_list, ["layers.0.weight"]), (plain_weight, ["weight"])):
    plain_checks.append(len(check_module(plain, (4, 5), (4, 3)).checks))
    try:
        check_module(plain, (4, 5), (4, 3), trainable=names)
        plain_messages.append("")
    except AssertionError as error:
        plain_messages.append(str(error))
    print(f"{type(plain).__name__}: {plain_checks[-1]} checks pass; with trainable=:")
    print(f"  AssertionError: {plain_messages[-1]}")
plain_parameters = [list(m.parameters()) for m in (PlainList(), PlainWeight())]
# Check 3's backward filled both weights' .grad; the helper puts back only the .grad of what
# named_parameters() lists, and neither weight is there.
grads_left = [before is None and t.grad is not None for before, t in zip(grads_before, hidden)]
print("PlainList, PlainWeight: weight's .grad, None before, set after the checks:", grads_left)
left_behind = [PlainList().to("meta").layers[0].weight, PlainWeight().to("meta").weight]
print("after .to('meta'), their weights are on:", [str(t.device) for t in left_behind])
# The control: a registered parameter gets its .grad back, the very tensor, values unchanged.
registered, marker = nn.Linear(5, 3), torch.full((3, 5), 7.0)
registered.weight.grad = marker
check_module(registered, (4, 5), (4, 3))
registered_grad_back = registered.weight.grad is marker and bool((marker == 7).all())  # values too
registered_grad_back &= registered.bias.grad is None
print("a registered weight's .grad, same tensor, unchanged:", registered_grad_back)


class CountsCalls(nn.Linear):
    """An nn.Linear that counts its forward passes in a plain attribute."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().forward(x)


counting = CountsCalls(5, 3).to(device)
passes = []  # a forward hook sees every forward pass, whoever counts it
counting.register_forward_hook(
    lambda module, args, output: passes.append((module.training, args[0].shape[0]))
)
check_module(counting, (4, 5), (4, 3))
calls_counted = counting.calls  # not put back: one per forward pass the checks ran
print("CountsCalls: forward passes counted during one check_module call:", calls_counted)

# By hand: the forward pass computes the right numbers, and they depend on the weight...
x = torch.randn(4, 5).to(device).requires_grad_()
reference = MyLinear(5, 3).to(device)
reference.load_state_dict(broken.state_dict())
same_output = torch.equal(broken(x), reference(x))
saved_weight = broken.weight.detach().clone()
with torch.no_grad():
    broken.weight.add_(1.0)
    depends_on_weight = not torch.allclose(broken(x), reference(x))
    broken.weight.copy_(saved_weight)  # exactly as it was: sub_(1.0) could round
# ...but the graph leads from the loss to the input only: the weight's .grad stays None.
(broken(x) * torch.randn(4, 3).to(device)).sum().backward()
input_reached = x.grad is not None  # this backward ran, and reached the input
print("same output as MyLinear:", same_output, " output depends on the weight:", depends_on_weight)
print("after backward: input .grad set:", input_reached, " weight .grad:", broken.weight.grad)


class ScaleNoWeightGrad(torch.autograd.Function):
    """x * w, with a backward that returns None for w: recorded, yet w gets no gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(w)
        return x * w

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (w,) = ctx.saved_tensors
        return grad_output * w, None


x_own = torch.randn(4, 5).to(device).requires_grad_()  # a leaf of its own, not x
w = torch.randn(5).to(device).requires_grad_()
scaled = ScaleNoWeightGrad.apply(x_own, w)
# w's node in the graph (AccumulateGrad, which would add to w.grad): record what it receives.
w_node = next(f for f, _ in scaled.grad_fn.next_functions if getattr(f, "variable", None) is w)
w_node_received = []
w_node.register_prehook(lambda grads: w_node_received.append(grads))
scaled.sum().backward()
print("backward reached w's node, which received:", w_node_received, " w .grad:", w.grad)

# Errors raised by the module itself pass through unwrapped: nn.Embedding wants integer indices,
# and check_module feeds it floats.
try:
    check_module(nn.Embedding(10, 3).to(device), input_shape=(4,), expected_output_shape=(4, 3))
    module_error = ""
except RuntimeError as error:  # not an AssertionError from the helper
    module_error = f"{type(error).__name__}: {error}".split(";")[0]
print(module_error)


class WantsThreeFeatures(nn.Module):
    """Checks its input with an assert of its own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-1] == 3, "expected 3 features"
        return x


try:  # its AssertionError comes through too, and names neither the module nor a check
    check_module(WantsThreeFeatures(), (4, 5), (4, 5), device=device)
    own_assert = ""
except AssertionError as error:
    own_assert = str(error)
print("AssertionError:", own_assert)


class DetachedOutput(nn.Linear):
    """An nn.Linear that detaches its output: no graph leads back from it, so no backward runs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).detach()


# With no graph behind the output, check 3 still fails, with the helper's own message. So does
# the .data layer when the input is left out of the check: its weight and bias still require
# grad, but forward reads them through .data, so only the input's gradient can give its
# output a graph.
broken_has_graph = []  # output.requires_grad in each forward pass of the .data layer
hook = broken.register_forward_hook(lambda m, a, out: broken_has_graph.append(out.requires_grad))
no_graph_messages = []
for no_graph, options in (
    (DetachedOutput(5, 3), {}),
    (broken, {"check_input_grad": False}),
    (broken, {}),  # the default, for comparison: a graph, from the input only
):
    try:
        check_module(no_graph.to(device), (4, 5), (4, 3), **options)
        no_graph_messages.append("")
    except AssertionError as error:
        no_graph_messages.append(str(error))
hook.remove()
print("AssertionError:", no_graph_messages[0])
off, on = broken_has_graph
print(f"DataMyLinear's output requires grad: {off} with check_input_grad=False, {on} by default")


class ChangesSavedOutput(nn.Linear):
    """An nn.Linear and a sigmoid whose output, saved for the backward, is changed in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.sigmoid(super().forward(x))
        return out.mul_(2)  # sigmoid saved `out` for its backward: that backward will raise


try:  # an error of the backward pass itself comes through as it is, like the forward's
    check_module(ChangesSavedOutput(5, 3).to(device), (4, 5), (4, 3))
    backward_error = ""
except RuntimeError as error:  # AssertionError is not a RuntimeError
    backward_error = f"{type(error).__name__}: {error}"
print(backward_error.split(": [")[0])

assert centered.trained == [] and linear.trained == ["bias", "weight"]  # witness: reports
assert message == "DataMyLinear: no gradient reached ['bias', 'weight']" and left_as_found
assert same_output  # witness: data-output-correct
assert depends_on_weight and input_reached and broken.weight.grad is None  # witness: none-unreached
assert w_node_received == [(None,)] and w.grad is None  # witness: custom-backward-none
assert module_error.startswith("RuntimeError: Expected tensor")  # witness: module-errors-pass
assert own_assert == "expected 3 features"  # witness: module-assert-passes
assert shape_message == "MyLinear: output shape (4, 4), expected (4, 3)"
tiny_reported = tiny_message.endswith("no gradient reached ['linear.bias', 'linear.weight']")
assert tiny_reported and len(block_with_low_rtol) == 3  # witness: tiny-real-gradient
lazy_refused = lazy_message.endswith("lazy parameters or buffers; call it once first")
buffers_only = not list(lazy.parameters()) and any(map(is_lazy, lazy.buffers()))
assert lazy_refused and buffers_only  # witness: lazy-refused
overflow_caught = overflow_message.endswith("infinite torch.float16 gradient in ['s', 'the input']")
assert overflow_caught and float32_trained == ["s"]  # witness: own-backward-checked
assert away_all_zero and away_trained == ["s"]  # witness: vanishing-16-bit-passes
plain_refused = all(m.endswith("] are not parameters") for m in plain_messages)
plain_pass = plain_checks == [5, 5] and plain_parameters == [[], []]
assert plain_pass and plain_refused  # witness: plain-tensors-unchecked
list_weight_is_parameter = isinstance(hidden[0], nn.Parameter)
left_and_restored = all(grads_left) and registered_grad_back
assert left_and_restored and list_weight_is_parameter  # witness: plain-grad-left
assert not any(t.is_meta for t in left_behind)  # witness: plain-not-moved
one_per_pass = calls_counted == len(passes) == 7
one_per_pass &= passes == [(True, 4)] + [(False, 4)] * 2 + [(False, 1)] * 4
assert one_per_pass  # witness: counter-not-restored
no_graph_caught = no_graph_messages == [
    "DetachedOutput: no gradient reached ['bias', 'weight']",
    "DataMyLinear: no gradient reached ['bias', 'weight']",
    "DataMyLinear: no gradient reached ['bias', 'weight']",
]
parameters_on = broken.weight.requires_grad and broken.bias.requires_grad
graph_from_input = broken_has_graph == [False, True]  # input's gradient off, then on
assert no_graph_caught and parameters_on and graph_from_input  # witness: no-graph-fails-check-3
backward_unwrapped = backward_error.startswith("RuntimeError: one of the variables needed")
assert backward_unwrapped  # witness: backward-errors-pass

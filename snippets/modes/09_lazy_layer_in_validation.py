"""A lazy layer first called during validation keeps inference tensors as its weight and bias."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
train_x, train_y = torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)
val_batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(2)]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """As in 07_validation_loop.py: evaluation mode inside, every submodule's own mode after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def validate(model: nn.Module, batches) -> float:
    with evaluating(model), torch.inference_mode():
        losses = [F.mse_loss(model(x), y).item() for x, y in batches]
    return sum(losses) / len(losses)


# A sanity check before training: validate() runs a lazy layer for the first time, and the layer
# fills in the data of its weight and bias inside inference_mode, as inference tensors. What the
# first training step then does depends on whether the lazy layer's input requires grad.
def sanity_check_then_step(sanity_check, before: str = "nothing") -> tuple[bool, ...] | str:
    """before: "nothing", or a "trainable" or "frozen" layer ahead of the lazy one.
    Returns (weight is inference, weight has a grad, weight changed, bias changed), or the error."""
    torch.manual_seed(2)
    if before == "nothing":
        lazy = nn.LazyLinear(8)
        model = nn.Sequential(lazy, nn.ReLU(), nn.Linear(8, 1))
    else:
        lazy = nn.LazyLinear(1)
        first = nn.Linear(4, 8).requires_grad_(before == "trainable")
        model = nn.Sequential(first, nn.ReLU(), lazy)
    model.to(device)
    sanity_check(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    weight, bias = lazy.weight.detach().clone(), lazy.bias.detach().clone()
    try:
        F.mse_loss(model(train_x), train_y).backward()
    except RuntimeError as error:
        return str(error).split(".")[0]
    optimizer.step()
    changed = not torch.equal(lazy.weight, weight), not torch.equal(lazy.bias, bias)
    return lazy.weight.is_inference(), lazy.weight.grad is not None, *changed


def check_with_no_grad(model: nn.Module) -> None:
    with evaluating(model), torch.no_grad():
        model(val_batches[0][0])


after_validate = sanity_check_then_step(lambda model: validate(model, val_batches))
after_no_grad = sanity_check_then_step(check_with_no_grad)
lazy_second = sanity_check_then_step(lambda model: validate(model, val_batches), "trainable")
lazy_frozen = sanity_check_then_step(lambda model: validate(model, val_batches), "frozen")
print("lazy layer first; weight is inference, has grad, changed; bias changed:")
print("  first run in validate():", after_validate)
print("  first run under no_grad:", after_no_grad)
print("lazy layer after a frozen one, first run in validate():", lazy_frozen)
print("lazy layer after a trainable one, first run in validate():", lazy_second)
# Why: linear's node keeps the weight (its transpose, as mat2) only for the input's gradient.
saves_weight = [device.type == "mps"] * 2  # MPS saves it either way: not checked there
if device.type != "mps":
    head = nn.Linear(8, 1).to(device)
    for i, first in enumerate((nn.Linear(4, 8), nn.Linear(4, 8).requires_grad_(False))):
        saved = head(first.to(device)(train_x).relu()).grad_fn._saved_mat2
        saves_weight[i] = saved is not None and torch.equal(saved, head.weight.t())
print("linear after a trainable / a frozen layer saves its weight:", saves_weight)

# A lazy convolution uses its weight as it is, and must save it: the first step raises even here.
lazy_conv = nn.LazyConv1d(2, 3).to(device)
signal = torch.randn(1, 4, 8).to(device)
with torch.inference_mode():
    lazy_conv(signal)
try:
    lazy_conv(signal).sum().backward()
    lazy_conv_first = "no error"
except RuntimeError as error:
    lazy_conv_first = str(error).split(".")[0]
print("LazyConv1d first, first run in inference_mode:", lazy_conv_first)


class FirstUse(TorchDispatchMode):
    """Note the first operation that reaches the kernels (below autograd) with `tensor` in it."""

    def __init__(self, tensor: torch.Tensor) -> None:
        super().__init__()
        self.tensor, self.first = tensor, None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.first is None and any(arg is self.tensor for arg in args):
            self.first = str(func)
        return func(*args, **(kwargs or {}))


# Why the weight gets no grad while the bias trains: linear() starts with weight.t(), and a call
# on an inference tensor is recorded only if an ordinary tensor takes part in it.
lazy = nn.LazyLinear(8).to(device)
parameters_before = lazy.weight, lazy.bias  # made here, outside the block
validate(nn.Sequential(lazy, nn.Linear(8, 1)).to(device), val_batches)
w, x = lazy.weight, torch.ones(4, 1, device=device)
with FirstUse(w) as first_use:
    lazy(val_batches[0][0])
print("the first operation linear() runs on the weight:", first_use.first)
# A convolution has no such first step: an ordinary Conv1d passes its weight as it is to
# convolution, the recorded call, whose backward node saves that very weight.
conv = nn.Conv1d(4, 2, 3).to(device)
with FirstUse(conv.weight) as conv_first_use:
    conv_node = conv(signal).grad_fn
conv_node_saves = type(conv_node).__name__ == "ConvolutionBackward0"
conv_node_saves = conv_node_saves and conv_node._saved_weight is conv.weight
recorded = [t.requires_grad for t in (w.t(), -w, w.mm(x), w * 2, w.clone(), w**2)]
with FirstUse(w) as times_two:  # mul's Tensor overload: in C++ the 2 is a wrapped 0-dim tensor
    w * 2
with FirstUse(w) as squared:  # and pow as a plain number
    w**2
two_as_tensor = (times_two.first, squared.first) == ("aten.mul.Tensor", "aten.pow.Tensor_Scalar")
with torch.inference_mode():
    two_inside = torch.tensor(2.0, device=device)
two_decides = (w * torch.tensor(2.0, device=device)).requires_grad and not (
    w * two_inside
).requires_grad
print("weight requires grad:", w.requires_grad)
print("weight.t(), -weight, weight.mm(x), weight * 2, weight.clone(), weight ** 2:", recorded)
# The parameters were made outside the block, only their data inside: they keep a version counter.
same_parameters = lazy.weight is parameters_before[0] and lazy.bias is parameters_before[1]
versions = lazy.weight._version, lazy.bias._version
with torch.no_grad():  # in-place updates, as in optimizer.step()
    lazy.weight.add_(0)
    lazy.bias.add_(0)
updated = (lazy.weight._version, lazy.bias._version) == (versions[0] + 1, versions[1] + 1)
with torch.inference_mode():  # a Parameter made there from a tensor made there: no version counter
    made_inside = nn.Parameter(torch.zeros(8, device=device))
try:  # the update goes in, then raises
    with torch.no_grad():
        made_inside.add_(1)
    made_inside_update = "no error"
except RuntimeError as error:
    made_inside_update = str(error).split(".")[0]
print("same Parameters after validate():", same_parameters, "| in-place update works:", updated)
print("a Parameter made inside inference_mode, in-place update:", made_inside_update)
# Under autocast, linear() and conv1d() compute with a cast copy of the weight, recorded.
with torch.autocast(device.type, dtype=torch.bfloat16):
    lazy(val_batches[0][0]).sum().backward()
    lazy_conv(signal).sum().backward()
autocast_grads = w.grad is not None, lazy_conv.weight.grad is not None
w.grad = None
try:  # a later step without autocast
    lazy(val_batches[0][0]).sum().backward()
    later_grad = w.grad
except RuntimeError as error:
    later_grad = str(error).split(".")[0]
print("under autocast the weights get a grad:", autocast_grads, "| a step without:", later_grad)
# Autocast casts only a weight whose dtype differs from its own: a bfloat16 layer gets no cast.
no_cast_no_grad = device.type == "mps"
if device.type != "mps":
    lazy_bfloat16 = nn.LazyLinear(8, device=device, dtype=torch.bfloat16)
    batch_bfloat16 = val_batches[0][0].to(torch.bfloat16)
    with torch.inference_mode():
        lazy_bfloat16(batch_bfloat16)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        lazy_bfloat16(batch_bfloat16).sum().backward()
    no_cast_no_grad = lazy_bfloat16.weight.grad is None and lazy_bfloat16.bias.grad is not None

saved_error = "Inference tensors cannot be saved for backward"

assert lazy.weight.is_inference() and lazy.bias.is_inference()  # witness: lazy-weight-is-inference
linear_starts_with_t = first_use.first == "aten.t.default" or device.type == "mps"
assert linear_starts_with_t  # witness: linear-starts-with-t
only_with_ordinary = recorded == [False, False, True, True, True, False]
clone_records_a_copy = type(w.clone().grad_fn).__name__ == "CopyBackwards"
results_ordinary = not (-w).is_inference()  # -weight's result is ordinary, yet not recorded
not_recorded = w.requires_grad and only_with_ordinary and results_ordinary and clone_records_a_copy
assert not_recorded  # witness: not-recorded
assert two_as_tensor and two_decides  # witness: two-as-ordinary-tensor
inside_refuses = made_inside_update.startswith("Inplace update to inference tensor")
inside_refuses &= torch.equal(made_inside, torch.ones(8, device=device))  # after the change
still_inference = lazy.weight.is_inference() and lazy.bias.is_inference()
lazy_inplace_works = same_parameters and updated and still_inference and inside_refuses
assert lazy_inplace_works  # witness: lazy-inplace-works
autocast_trains = autocast_grads == (True, True) and w.is_inference()
assert autocast_trains and w.to(torch.bfloat16).requires_grad  # witness: autocast-trains
assert later_grad == (None if device.type != "mps" else saved_error)  # witness: then-without
assert no_cast_no_grad  # witness: autocast-needs-a-cast
# On MPS, linear's backward node saves the input and the weight whenever the input or a
# parameter needs a gradient, so the step raises there.
input_needs_no_grad = (True, False, False, True) if device.type != "mps" else saved_error
assert after_validate == lazy_frozen == input_needs_no_grad  # witness: lazy-weight-never-trains
assert after_no_grad == (False, True, True, True)  # witness: no-grad-sanity-check-trains
assert lazy_second == saved_error  # witness: lazy-after-others-raises
assert saves_weight == [True, False]  # witness: linear-saves-weight-for-input
assert lazy_conv_first == saved_error  # witness: lazy-conv-raises
conv_first = conv_first_use.first == "aten.convolution.default"
assert conv_first and conv_node_saves  # witness: conv-saves-weight

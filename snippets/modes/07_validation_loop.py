"""Validate in evaluation mode, then go back to training mode; forgetting that fails silently."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
train_batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(3)]
val_batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(2)]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode inside the block; afterwards every submodule gets its own mode back."""
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


def validate_and_forget(model: nn.Module, batches) -> float:
    model.eval()  # the bug: nothing switches training mode back on
    with torch.inference_mode():
        losses = [F.mse_loss(model(x), y).item() for x, y in batches]
    return sum(losses) / len(losses)


def fit(validate_fn, epochs: int = 3) -> tuple[int, int]:
    """Train for some epochs, validating after each; count the steps taken in training mode."""
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1)
    )
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps_in_training_mode = 0
    for epoch in range(epochs):
        for x, y in train_batches:
            steps_in_training_mode += model.training
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        validate_fn(model, val_batches)
    batches_seen_by_batchnorm = model[1].num_batches_tracked.item()
    return steps_in_training_mode, batches_seen_by_batchnorm


total_steps = 3 * len(train_batches)
good_steps, good_bn = fit(validate)
bad_steps, bad_bn = fit(validate_and_forget)
results = {"validate()": (good_steps, good_bn), "validate_and_forget()": (bad_steps, bad_bn)}
for name, (steps, seen) in results.items():
    print(
        f"{name:22} {steps} of {total_steps} steps in training mode, BatchNorm saw {seen} batches"
    )

# A branch left in evaluation mode on purpose: evaluating() gives it back its own mode,
# while a single model.train(was_training) would switch it to training mode.
model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)).to(device)
model[1].eval()  # frozen batch norm
validate(model, val_batches)
branch_kept_by_evaluating = model.training and not model[1].training
was_training = model.training
model.eval()
model.train(was_training)
branch_kept_by_train = not model[1].training
print("frozen branch still in evaluation mode: after evaluating()", branch_kept_by_evaluating)
print(
    "                                        after model.train(was_training)", branch_kept_by_train
)


class PositionScale(nn.Module):
    """Scales each feature by a factor for its position, from a table made on the first call."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is None:
            self.cache = torch.linspace(1, 2, x.shape[-1], device=x.device)
        return x * self.cache  # saves the cache for x's gradient


# The first call is in validate(), so the table kept on the module is an inference tensor.
scale = PositionScale()
model = nn.Sequential(nn.Linear(4, 8), scale, nn.Linear(8, 1)).to(device)
validate(model, val_batches)
cache_is_inference, cache_before = scale.cache.is_inference(), scale.cache.clone()
try:
    F.mse_loss(model(train_batches[0][0]), train_batches[0][1]).backward()
    cache_step_error = "no error"
except RuntimeError as error:
    cache_step_error = str(error).split(".")[0]
try:
    scale.cache.mul_(2)  # an in-place update outside the block
    cache_update_error = "no error"
except RuntimeError as error:
    cache_update_error = str(error).split(".")[0]
cache_changed = not torch.equal(scale.cache, cache_before)
print("cache made in validate() is an inference tensor:", cache_is_inference)
print("  training step:", cache_step_error)
print("  in-place update:", cache_update_error, "| the cache changed all the same:", cache_changed)


# A sanity check before training: validate() runs a lazy layer for the first time, and the layer
# creates its weight and bias inside inference_mode, as inference tensors. What the first training
# step then does depends on whether the lazy layer's input requires grad.
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
        F.mse_loss(model(train_batches[0][0]), train_batches[0][1]).backward()
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

# Why the weight gets no grad while the bias trains: linear() starts with weight.t(), and a call
# on an inference tensor is recorded only if an ordinary tensor takes part in it.
lazy = nn.LazyLinear(8).to(device)
validate(nn.Sequential(lazy, nn.Linear(8, 1)).to(device), val_batches)
w, x = lazy.weight, torch.ones(4, 1, device=device)
recorded = [t.requires_grad for t in (w.t(), -w, w.mm(x), w * 2, w.clone())]
print("weight requires grad:", w.requires_grad, end=" | ")
print("weight.t(), -weight, weight.mm(x), weight * 2, weight.clone():", recorded)
# The parameters were made outside the block, only their data inside: they keep a version counter.
with torch.no_grad():
    lazy.bias.add_(0)  # an in-place update, as in optimizer.step()
print("bias is inference:", lazy.bias.is_inference(), "| version:", lazy.bias._version)
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

saved_error = "Inference tensors cannot be saved for backward"

assert total_steps == 9
assert (good_steps, good_bn) == (9, 9)  # witness: restores-training-mode
assert (bad_steps, bad_bn) == (3, 3)  # witness: forgetting-fails-silently
assert branch_kept_by_evaluating  # witness: evaluating-keeps-branch
assert not branch_kept_by_train  # witness: train-resets-branch
assert lazy.weight.is_inference() and lazy.bias.is_inference()  # witness: lazy-weight-is-inference
assert w.requires_grad and recorded == [False, False, True, True, True]  # witness: not-recorded
assert lazy.bias.is_inference() and lazy.bias._version == 1  # witness: lazy-inplace-works
assert (
    autocast_grads == (True, True) and w.is_inference() and w.to(torch.bfloat16).requires_grad
)  # witness: autocast-trains
assert later_grad == (None if device.type != "mps" else saved_error)  # witness: then-without
# On MPS, linear's own kernel saves the weight for the bias's gradient, so the step raises there.
input_needs_no_grad = (True, False, False, True) if device.type != "mps" else saved_error
assert after_validate == lazy_frozen == input_needs_no_grad  # witness: lazy-weight-never-trains
assert after_no_grad == (False, True, True, True)  # witness: no-grad-sanity-check-trains
assert lazy_second == saved_error  # witness: lazy-after-others-raises
assert lazy_conv_first == saved_error  # witness: lazy-conv-raises
assert cache_is_inference  # witness: cache-is-inference
assert cache_step_error == saved_error  # witness: cache-saved-raises
assert cache_changed and cache_update_error.startswith(
    "Inplace update to inference tensor"
)  # witness: cache-inplace-raises-after-change

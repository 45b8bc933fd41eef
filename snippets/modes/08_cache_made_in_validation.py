"""A tensor that a module makes and keeps during validation is an inference tensor."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

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
    F.mse_loss(model(train_x), train_y).backward()  # a training step
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

saved_error = "Inference tensors cannot be saved for backward"

assert cache_is_inference  # witness: cache-is-inference
assert cache_step_error == saved_error  # witness: cache-saved-raises
assert cache_changed and cache_update_error.startswith(
    "Inplace update to inference tensor"
)  # witness: cache-inplace-raises-after-change

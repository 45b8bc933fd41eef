"""A validation pass that raises: evaluating() and the with statement still restore every switch."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
good_batch = (torch.randn(16, 4).to(device), torch.randn(16, 1).to(device))
bad_batch = (torch.randn(16, 5).to(device), torch.randn(16, 1).to(device))  # 5 features, not 4
val_batches = [good_batch, bad_batch]


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


def validate_without_finally(model: nn.Module, batches) -> float:
    model.eval()
    with torch.inference_mode():
        losses = [F.mse_loss(model(x), y).item() for x, y in batches]
    model.train()  # skipped when a batch raises
    return sum(losses) / len(losses)


def after_validation(validate_fn, batches=val_batches) -> tuple[bool, bool, bool]:
    """Run validate_fn on a model with a frozen batch norm; catch its error, as a training loop
    that logs and goes on would; report the model's flag, the frozen branch's, and grad mode."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)).to(device)
    model[1].eval()  # frozen on purpose
    try:
        validate_fn(model, batches)
    except RuntimeError as error:
        print(f"  {validate_fn.__name__}() raised {type(error).__name__}")
    recording = torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    return model.training, model[1].training, recording


good = after_validation(validate)
bad = after_validation(validate_without_finally)
# Without the error, its model.train() switches the frozen batch norm back to training mode.
bad_when_it_works = after_validation(validate_without_finally, [good_batch])
runs = {"validate()": good, "validate_without_finally()": bad}
runs["the same, without an error"] = bad_when_it_works
for name, (training, branch, grad) in runs.items():
    print(f"after {name:26} model.training={training}, frozen branch training={branch},", end="")
    print(f" autograd records={grad}")

assert good == (True, False, True)  # witness: evaluating-restores-after-error
assert bad[:2] == (False, False)  # witness: without-finally-stays-in-eval
assert bad_when_it_works[:2] == (True, True)  # witness: success-unfreezes-branch
assert good[2] is True and bad[2] is True  # witness: with-restores-grad-mode

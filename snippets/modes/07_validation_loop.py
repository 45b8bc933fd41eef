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


def fit(validate_fn, epochs: int = 3) -> tuple[int, int, int, bool]:
    """Train for some epochs, validating after each; count the steps taken in training mode, and
    say whether batch norm's running mean still changed after the first epoch."""
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1)
    )
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps_in_training_mode = steps_with_dropout_on = 0
    running_means = []  # batch norm's running mean after each epoch
    for epoch in range(epochs):
        for x, y in train_batches:
            steps_in_training_mode += model.training  # the container's own flag
            steps_with_dropout_on += model[3].training  # the Dropout's
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        validate_fn(model, val_batches)
        running_means.append(model[1].running_mean.clone())
    batches_seen_by_batchnorm = model[1].num_batches_tracked.item()
    stats_moved_later = not torch.equal(running_means[0], running_means[-1])
    counts = steps_in_training_mode, steps_with_dropout_on, batches_seen_by_batchnorm
    return (*counts, stats_moved_later)


epochs, batches_per_epoch = 3, len(train_batches)
total_steps = epochs * batches_per_epoch
good_steps, good_dropout, good_bn, good_stats_moved = fit(validate, epochs)
bad_steps, bad_dropout, bad_bn, bad_stats_moved = fit(validate_and_forget, epochs)
results = {
    "validate()": (good_steps, good_dropout, good_bn),
    "validate_and_forget()": (bad_steps, bad_dropout, bad_bn),
}
for name, (steps, dropping, seen) in results.items():
    print(f"{name:22} {steps} of {total_steps} steps in training mode,", end="")
    print(f" dropout on in {dropping}, BatchNorm saw {seen} batches")
print("BatchNorm's running mean changed after the first epoch:", end=" ")
print(f"validate() {good_stats_moved}, validate_and_forget() {bad_stats_moved}")

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


class CountsTrainCalls(nn.Linear):
    """A Linear whose train() override records the mode of each call (eval() calls train(False))."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modes: list[bool] = []

    def train(self, mode: bool = True) -> nn.Module:
        self.modes.append(mode)
        return super().train(mode)


counting = CountsTrainCalls(4, 1).to(device)
validate(counting, val_batches)  # eval() on entry calls the override; the restore sets the flag
print("train() override calls during validate(), by mode:", counting.modes, end="")
print(" | back in training mode:", counting.training)

assert (epochs, batches_per_epoch, total_steps) == (3, 3, 9)
assert (good_steps, good_dropout, good_bn) == (9, 9, 9)  # witness: restores-training-mode
assert (bad_steps, bad_dropout, bad_bn) == (3, 3, 3)  # witness: forgetting-fails-silently
assert good_stats_moved and not bad_stats_moved  # witness: running-stats-frozen
assert branch_kept_by_evaluating  # witness: evaluating-keeps-branch
assert not branch_kept_by_train  # witness: train-resets-branch
restored_without_override = counting.modes == [False] and counting.training
assert restored_without_override  # witness: restore-skips-train-override

"""One function for training and validation; inference_mode's boolean points the other way."""

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(2)]


def run_epoch(model: nn.Module, batches, optimizer=None) -> tuple[float, bool]:
    """Train when given an optimizer, validate otherwise. Returns the mean loss and whether the
    last loss was recorded by autograd."""
    training = optimizer is not None
    model.train(training)  # no branch here is meant to stay in evaluation mode
    losses = []
    with torch.inference_mode(not training):  # or torch.set_grad_enabled(training)
        for x, y in batches:
            loss = F.mse_loss(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
    return sum(losses) / len(losses), loss.requires_grad


def run_epoch_flipped(model: nn.Module, batches, optimizer=None) -> tuple[float, bool]:
    """The colleague's version: the same, with inference_mode(training)."""
    training = optimizer is not None
    model.train(training)
    losses = []
    with torch.inference_mode(training):  # the bug
        for x, y in batches:
            loss = F.mse_loss(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
    return sum(losses) / len(losses), loss.requires_grad


def new_model() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


model, optimizer = new_model()
_, train_recorded = run_epoch(model, batches, optimizer)
val_loss, val_recorded = run_epoch(model, batches)
print(f"run_epoch:         training recorded={train_recorded}, validation recorded={val_recorded}")

model, optimizer = new_model()
try:
    run_epoch_flipped(model, batches, optimizer)
    flipped_train_error = "no error"
except RuntimeError as error:
    flipped_train_error = str(error)
print("run_epoch_flipped: training raised:", flipped_train_error)
model, optimizer = new_model()
run_epoch(model, batches, optimizer)  # train correctly, then validate the flipped way
flipped_val_loss, flipped_val_recorded = run_epoch_flipped(model, batches)
same_loss = abs(flipped_val_loss - val_loss) <= 1e-6 * max(1.0, abs(val_loss))
print(f"run_epoch_flipped: validation recorded={flipped_val_recorded},", end="")
print(f" same loss as run_epoch: {same_loss}")

correct_switches = train_recorded and not val_recorded
assert correct_switches  # witness: one-switch-works
no_grad_message = flipped_train_error.startswith("element 0 of tensors does not require grad")
assert no_grad_message  # witness: flipped-training-raises
assert flipped_val_recorded and same_loss  # witness: flipped-validation-records

"""One function for training and validation; inference_mode's boolean points the other way."""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(2)]


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


def inference_switch(training: bool):
    return torch.inference_mode(not training)


def grad_switch(training: bool):  # the same choice, made with set_grad_enabled
    return torch.set_grad_enabled(training)


def flipped_switch(training: bool):  # the colleague's version
    return torch.inference_mode(training)


def run_epoch(model: nn.Module, batches, optimizer=None, switch=inference_switch):
    """Train when given an optimizer, validate otherwise. Returns each batch's loss and whether
    autograd recorded it."""
    training = optimizer is not None
    if training:
        model.train()  # a branch meant to stay in evaluation mode needs a train() override
    losses, recorded = [], []
    with nullcontext() if training else evaluating(model), switch(training):
        for x, y in batches:
            loss = F.mse_loss(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
            recorded.append(loss.requires_grad)
    return losses, recorded


def new_model() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


switches_work = []
for switch in (inference_switch, grad_switch):
    model, optimizer = new_model()
    _, train_recorded = run_epoch(model, batches, optimizer, switch)
    _, val_recorded = run_epoch(model, batches, switch=switch)
    print(f"{switch.__name__}: training recorded={train_recorded}, validation ", end="")
    print(f"recorded={val_recorded}")
    switches_work.append(all(train_recorded) and not any(val_recorded))

# Called from inside an inference_mode block, inference_switch still trains on batches made outside
# the block; a batch made inside it is an inference tensor, which autograd cannot save for backward.
model, optimizer = new_model()  # built outside the block
with torch.inference_mode():
    inner_batches = [(x + 0, y + 0) for x, y in batches]  # made inside: inference tensors
    _, outer_recorded = run_epoch(model, batches, optimizer)
    try:
        run_epoch(model, inner_batches, optimizer)
        inner_error = "no error"
    except RuntimeError as error:
        inner_error = str(error).split(".")[0]
print(f"inference_switch inside inference_mode: batches made outside recorded={outer_recorded},")
print("  a batch made inside raised:", inner_error)

model, optimizer = new_model()
try:
    run_epoch(model, batches, optimizer, flipped_switch)
    flipped_train_error = "no error"
except RuntimeError as error:
    flipped_train_error = str(error)
print("flipped_switch: training raised:", flipped_train_error)
model, optimizer = new_model()
run_epoch(model, batches, optimizer)  # train correctly, then validate both ways
val_losses, _ = run_epoch(model, batches)
flipped_val_losses, flipped_val_recorded = run_epoch(model, batches, switch=flipped_switch)
same_losses = flipped_val_losses == val_losses  # bit for bit
print(f"flipped_switch: validation recorded={flipped_val_recorded},", end="")
print(f" same losses as without recording: {same_losses}")


assert all(switches_work)  # witness: one-switch-works
ordinary_only = all(outer_recorded) and inner_error.startswith("Inference tensors cannot be saved")
assert ordinary_only  # witness: inside-needs-ordinary-batches
no_grad_message = flipped_train_error.startswith("element 0 of tensors does not require grad")
assert no_grad_message  # witness: flipped-training-raises
flipped_validation_records = all(flipped_val_recorded) and same_losses
assert flipped_validation_records  # witness: flipped-validation-records

"""Validation puts the model in eval mode; without model.train() dropout stays off afterwards."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(32, 4), torch.randn(32, 1)


def validate() -> float:
    model.eval()
    with torch.no_grad():
        return nn.functional.mse_loss(model(x), y).item()


def train(epochs: int, call_train: bool) -> list[bool]:
    """Returns model.training as it was during each epoch's training step."""
    modes = []
    for _ in range(epochs):
        if call_train:
            model.train()  # the fix: at the start of every epoch
        modes.append(model.training)
        dropout_modes.append(model[2].training)
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        validate()
    return modes


dropout_modes = []
without_train = train(3, call_train=False)
dropout_without_train, dropout_modes = dropout_modes, []
with_train = train(3, call_train=True)
print("training mode in epochs 1-3 without model.train():", without_train)
print("training mode in epochs 1-3 with model.train():   ", with_train)
later_epochs_training = without_train[1]

assert (
    without_train == [True, False, False] and later_epochs_training is False
)  # witness: stays-eval
assert dropout_without_train == [True, False, False]  # witness: dropout-flag-sticks
assert with_train == [True, True, True] and dropout_modes == with_train  # witness: train-fixes

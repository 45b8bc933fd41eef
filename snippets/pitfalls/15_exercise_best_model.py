"""Exercise: early stopping that keeps the best weights, and restores them at the end.

Training pulls the weight from 0 towards 2; the validation data prefers 1, so the validation loss
falls, then rises again, and the best epoch is not the last.
"""

import copy

import torch
from torch import nn

torch.manual_seed(0)
x_train, x_valid = torch.randn(32, 1), torch.randn(32, 1)
y_train, y_valid = 2 * x_train, 1 * x_valid
MAX_EPOCHS = 10  # the epochs training runs if it never stops early
PATIENCE = 3  # stop once this many epochs in a row bring no new lowest validation loss


def train(snapshot) -> tuple[float, float, list[float]]:
    """Train for up to 10 epochs, keeping `snapshot(model)` of the best epoch, and stop early after
    PATIENCE epochs without a new best. Returns the validation losses of the best epoch and of the
    model restored from that snapshot, and every epoch's."""
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    best_loss, best_state, losses, since_best = float("inf"), None, [], 0
    for _ in range(MAX_EPOCHS):
        model.train()
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x_train), y_train).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            loss = nn.functional.mse_loss(model(x_valid), y_valid).item()
        losses.append(loss)
        if loss < best_loss:
            best_loss, best_state, since_best = loss, snapshot(model), 0
        else:
            since_best += 1
            if since_best == PATIENCE:
                break  # early stopping
    model.load_state_dict(best_state)
    with torch.no_grad():
        restored_loss = nn.functional.mse_loss(model(x_valid), y_valid).item()
    return best_loss, restored_loss, losses


best, restored_by_reference, losses = train(lambda model: model.state_dict())
_, restored_copy, _ = train(lambda model: copy.deepcopy(model.state_dict()))
last, best_epoch = losses[-1], losses.index(best)  # epochs counted from 0
print(f"best validation loss {best:.4f} (epoch {best_epoch + 1}), stopped after epoch", end=" ")
print(f"{len(losses)} with {last:.4f}")
print(f"restored from state_dict():          {restored_by_reference:.4f}")
print(f"restored from deepcopy(state_dict()): {restored_copy:.4f}")

assert restored_copy == best  # witness: copy-restores-best
assert restored_by_reference == last and last > 2 * best  # witness: reference-restores-last
falls = all(a > b for a, b in zip(losses[:best_epoch], losses[1 : best_epoch + 1], strict=True))
rises = all(a < b for a, b in zip(losses[best_epoch:-1], losses[best_epoch + 1 :], strict=True))
assert 0 < best_epoch < len(losses) - 1 and falls and rises  # witness: falls-then-rises
stopped_early = len(losses) == best_epoch + 1 + PATIENCE < MAX_EPOCHS
assert stopped_early  # witness: stops-early

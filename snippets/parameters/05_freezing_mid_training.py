"""Freezing mid-training: when does an optimizer still move a frozen parameter?"""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def frozen_layer_moves(
    set_to_none: bool, rebuild_optimizer: bool, weight_decay: float = 0.01
) -> tuple[bool, bool]:
    """Train, freeze the first layer, train on: did it move, and was its .grad None at the step?"""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    X = torch.randn(16, 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=weight_decay)

    # A first phase trains everything, so AdamW builds up its running averages.
    model(X).pow(2).mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)

    # Then the first layer is frozen and training goes on.
    model[0].requires_grad_(False)
    if rebuild_optimizer:
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=0.01, weight_decay=weight_decay)
    before = model[0].weight.detach().clone()
    model(X).pow(2).mean().backward()
    grad_is_none = model[0].weight.grad is None
    optimizer.step()
    return not torch.equal(before, model[0].weight), grad_is_none


moves_with_zeroed_grads, _ = frozen_layer_moves(set_to_none=False, rebuild_optimizer=False)
moves_with_none_grads, grad_was_none = frozen_layer_moves(set_to_none=True, rebuild_optimizer=False)
moves_with_rebuilt_optimizer, _ = frozen_layer_moves(set_to_none=False, rebuild_optimizer=True)
print("same optimizer, grads zero-filled:   frozen layer moved =", moves_with_zeroed_grads)
print("same optimizer, grads set to None:   frozen layer moved =", moves_with_none_grads)
print("new optimizer, trainable parameters: frozen layer moved =", moves_with_rebuilt_optimizer)

# Each of AdamW's two pushes alone: the running averages (no weight decay) ...
moves_without_decay, _ = frozen_layer_moves(False, False, weight_decay=0.0)
# ... and weight decay (fresh state and a zero gradient: the Adam update itself is zero).
w = nn.Parameter(torch.ones(3))
w.grad = torch.zeros(3)
torch.optim.AdamW([w], lr=0.1, weight_decay=0.1).step()
decay_alone_moves = not torch.equal(w, torch.ones(3))
print("zero-filled grads, no weight decay: moved =", moves_without_decay)
print("fresh AdamW, zero gradient, weight decay only: moved =", decay_alone_moves)

# Freezing between backward() and step() leaves the .grad in place, and the step uses it.
torch.manual_seed(0)
layer = nn.Linear(4, 3).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
layer(torch.randn(2, 4).to(device)).sum().backward()
layer.requires_grad_(False)
grad_kept = layer.weight.grad is not None
before = layer.weight.detach().clone()
optimizer.step()
late_freeze_moves = not torch.equal(before, layer.weight)
print("frozen after backward: .grad kept =", grad_kept, " moved by the step =", late_freeze_moves)

# A zero gradient is still a gradient: running averages and weight decay act on it.
assert moves_with_zeroed_grads  # witness: zero-grad-moves
assert moves_without_decay  # witness: averages-push
assert decay_alone_moves  # witness: decay-pushes
assert grad_was_none and not moves_with_none_grads  # witness: none-grad-skipped
assert not moves_with_rebuilt_optimizer  # witness: rebuilt-optimizer-fixed
assert grad_kept and late_freeze_moves  # witness: late-freeze-still-stepped

"""Freezing mid-training: when does an optimizer still move a frozen parameter?"""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def frozen_layer_moves(set_to_none: bool, rebuild_optimizer: bool) -> bool:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    X = torch.randn(16, 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)

    # A first phase trains everything, so AdamW builds up its running averages.
    model(X).pow(2).mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)

    # Then the first layer is frozen and training goes on.
    model[0].requires_grad_(False)
    if rebuild_optimizer:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.01)
    before = model[0].weight.detach().clone()
    model(X).pow(2).mean().backward()
    optimizer.step()
    return not torch.equal(before, model[0].weight)


moves_with_zeroed_grads = frozen_layer_moves(set_to_none=False, rebuild_optimizer=False)
moves_with_none_grads = frozen_layer_moves(set_to_none=True, rebuild_optimizer=False)
moves_with_rebuilt_optimizer = frozen_layer_moves(set_to_none=False, rebuild_optimizer=True)
print("same optimizer, grads zero-filled:   frozen layer moved =", moves_with_zeroed_grads)
print("same optimizer, grads set to None:   frozen layer moved =", moves_with_none_grads)
print("new optimizer, trainable parameters: frozen layer moved =", moves_with_rebuilt_optimizer)

# A zero gradient is still a gradient: running averages and weight decay act on it.
assert moves_with_zeroed_grads
assert not moves_with_none_grads  # optimizers skip parameters whose .grad is None
assert not moves_with_rebuilt_optimizer

"""Two separate bias-free Linear(1, 1) layers that only start equal: each gets its own gradient."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def layer_with_weight(value: float) -> nn.Linear:
    layer = nn.Linear(1, 1, bias=False).to(device)
    with torch.no_grad():
        layer.weight.fill_(value)
    return layer


x = torch.tensor([[2.0]], device=device)
target = torch.tensor([[10.0]], device=device)

start = 3.0  # the starting value of every weight below
shared = layer_with_weight(start)
tied = nn.Sequential(shared, shared)
first, second = layer_with_weight(start), layer_with_weight(start)
untied = nn.Sequential(first, second)

for model in (tied, untied):
    loss = (model(x) - target).pow(2).sum()
    loss.backward()

tied_parameters = sum(p.numel() for p in tied.parameters())
untied_parameters = sum(p.numel() for p in untied.parameters())
tied_grad = shared.weight.grad.item()
first_grad, second_grad = first.weight.grad.item(), second.weight.grad.item()
print(f"tied:   {tied_parameters} parameter, grad {tied_grad:g}")
print(f"untied: {untied_parameters} parameters, grads {first_grad:g} and {second_grad:g}")

# One plain gradient step moves the tied weight twice as far.
learning_rate = 0.001
for model in (tied, untied):
    torch.optim.SGD(model.parameters(), lr=learning_rate).step()
tied_after = shared.weight.item()
untied_after = first.weight.item()
print(f"after one SGD step: tied w = {tied_after:.3f}, untied w = {untied_after:.3f}")

assert (tied_parameters, untied_parameters) == (1, 2)
assert tied_grad == first_grad + second_grad == 192
assert first_grad == second_grad == 96
assert abs(tied_after - 2.808) < 1e-6 and abs(untied_after - 2.904) < 1e-6

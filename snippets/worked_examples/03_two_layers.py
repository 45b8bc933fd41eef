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

outputs = []
for model in (tied, untied):
    outputs.append(model(x))
    loss = (outputs[-1] - target).pow(2).sum()
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
outputs_differ = tied(x).item() != untied(x).item()


def train_untied(first_start: float, second_start: float, steps: int = 50) -> tuple:
    """Train two separate layers; report the final weights and whether all gradients matched."""
    one, two = layer_with_weight(first_start), layer_with_weight(second_start)
    model = nn.Sequential(one, two)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    grads_always_equal = True
    for _ in range(steps):
        optimizer.zero_grad()
        (model(x) - target).pow(2).sum().backward()
        grads_always_equal &= one.weight.grad.item() == two.weight.grad.item()
        optimizer.step()
    return one.weight.item(), two.weight.item(), grads_always_equal


equal_start = train_untied(start, start)
unequal_start = train_untied(start, 2.9)
for starts, (w1, w2, equal) in (("3 and 3:  ", equal_start), ("3 and 2.9:", unequal_start)):
    print(f"50 steps from {starts} w1 = {w1:.4f}, w2 = {w2:.4f}, equal grads every step: {equal}")

assert (tied_parameters, untied_parameters) == (1, 2)  # witness: one-tensor
assert torch.equal(outputs[0], outputs[1])  # witness: same-output
assert tied_grad == first_grad + second_grad == 192
assert first_grad == second_grad == tied_grad / 2 == 96  # witness: own-share
assert abs(tied_after - 2.808) < 1e-6 and abs(untied_after - 2.904) < 1e-6
assert outputs_differ  # witness: now-different
assert equal_start[2] and equal_start[0] == equal_start[1]  # witness: stay-equal
assert not unequal_start[2] and unequal_start[0] != unequal_start[1]  # witness: drift-apart

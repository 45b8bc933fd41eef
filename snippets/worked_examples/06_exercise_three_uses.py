"""Exercise: apply the same Linear(1, 1) three times, y_hat = w^3 x, and split the gradient."""

import torch
from torch import nn

layer = nn.Linear(1, 1, bias=False)
with torch.no_grad():
    layer.weight.fill_(3.0)
x, target = torch.tensor([[2.0]]), torch.tensor([[10.0]])

first = layer(x)
second = layer(first)
y_hat = layer(second)
for intermediate in (first, second):
    intermediate.retain_grad()
loss = (y_hat - target).pow(2).sum()
loss.backward()

w = layer.weight.item()
residual = y_hat.item() - target.item()
dloss_dprediction = 2 * residual
dprediction_dw = 3 * w**2 * x.item()
by_hand = dloss_dprediction * dprediction_dw
# Each use contributes the gradient reaching its output times the input it multiplies.
uses = [
    dloss_dprediction * second.item(),
    second.grad.item() * first.item(),
    first.grad.item() * x.item(),
]
autograd_grad = layer.weight.grad.item()
contribution_per_use = uses[0]
print(f"y_hat = {y_hat.item():g}, dL/dw by hand = {by_hand:g}, autograd = {autograd_grad:g}")
print("contribution of each use:", [f"{u:g}" for u in uses])

assert y_hat.item() == 54 and (residual, dloss_dprediction, dprediction_dw) == (44, 88, 54)
assert by_hand == autograd_grad == 4752
assert uses == [1584, 1584, 1584] and sum(uses) == autograd_grad  # witness: thirds

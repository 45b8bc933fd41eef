"""Exercise: apply the same Linear(1, 1) three times, y_hat = w^3 x, and split the gradient."""

import copy

import torch
from torch import nn

layer = nn.Linear(1, 1, bias=False)
with torch.no_grad():
    layer.weight.fill_(3.0)
x, target = torch.tensor([[2.0]]), torch.tensor([[10.0]])
copies = [copy.deepcopy(layer) for _ in range(3)]  # untied stand-ins, one for each use

y_hat = layer(layer(layer(x)))
(y_hat - target).pow(2).sum().backward()

w = layer.weight.item()
residual = y_hat.item() - target.item()
dloss_dprediction = 2 * residual
dprediction_dw = 3 * w**2 * x.item()
by_hand = dloss_dprediction * dprediction_dw
autograd_grad = layer.weight.grad.item()
# Each use's part, measured: the same three calls, each to its own copy of the layer.
(copies[2](copies[1](copies[0](x))) - target).pow(2).sum().backward()
uses = [c.weight.grad.item() for c in copies]  # first, second, third use
contribution_per_use = dloss_dprediction * w**2 * x.item()  # dL/dy_hat times the other factors
print(f"y_hat = {y_hat.item():g}, dL/dw by hand = {by_hand:g}, autograd = {autograd_grad:g}")
print("contribution of each use:", [f"{u:g}" for u in uses])

assert y_hat.item() == 54 and (residual, dloss_dprediction, dprediction_dw) == (44, 88, 54)
assert by_hand == autograd_grad == 4752
thirds = uses == [contribution_per_use] * 3 == [1584] * 3
assert thirds and sum(uses) == autograd_grad  # witness: thirds

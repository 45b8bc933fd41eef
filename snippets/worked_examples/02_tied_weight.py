"""One bias-free Linear(1, 1) applied twice: y_hat = w * (w * x). Autograd sums both uses."""

import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

layer = nn.Linear(1, 1, bias=False).to(device)
with torch.no_grad():
    layer.weight.fill_(3.0)
x = torch.tensor([[2.0]], device=device)
target = torch.tensor([[10.0]], device=device)

hidden = layer(x)  # w * x = 6
hidden.retain_grad()  # keep dL/dhidden, to split the gradient into its two uses below
y_hat = layer(hidden)  # w * (w * x) = 18
loss = (y_hat - target).pow(2).sum()
loss.backward()

# The chain rule by hand, one factor at a time.
w, x_value, t = layer.weight.item(), x.item(), target.item()
prediction = w * (w * x_value)
residual = prediction - t
dloss_dprediction = 2 * residual
dprediction_dw = 2 * w * x_value
dloss_dw = dloss_dprediction * dprediction_dw

# Each use of w contributes the gradient reaching its output times what w multiplies there.
hidden_value, hidden_grad = hidden.item(), hidden.grad.item()  # h = 6, dL/dh = dL/dy_hat * w
outer_use = dloss_dprediction * hidden_value  # w multiplies hidden in the second call
inner_use = hidden_grad * x_value  # w multiplies x in the first call
autograd_grad = layer.weight.grad.item()

print(f"y_hat = {y_hat.item():g}, loss = {loss.item():g}")
print(f"dL/dy_hat = {dloss_dprediction:g}, dy_hat/dw = {dprediction_dw:g}, dL/dw = {dloss_dw:g}")
print(f"outer use {outer_use:g} + inner use {inner_use:g} = {outer_use + inner_use:g}")
print(f"layer.weight.grad = {autograd_grad:g}")

assert (prediction, residual, dloss_dprediction, dprediction_dw, dloss_dw) == (18, 8, 16, 12, 192)
assert y_hat.item() == prediction and loss.item() == residual**2
assert (hidden_value, hidden_grad) == (6, 48) and outer_use == inner_use == 96
assert autograd_grad == outer_use + inner_use == dloss_dw  # witness: uses-add-up
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # reading .grad of a non-leaf tensor warns
    assert y_hat.grad is None and hidden.grad is not None  # witness: retain-grad

"""One bias-free Linear(1, 1) applied twice: y_hat = w * (w * x). Autograd sums both uses."""

import copy
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

layer = nn.Linear(1, 1, bias=False).to(device)
with torch.no_grad():
    layer.weight.fill_(3.0)
x = torch.tensor([[2.0]], device=device)
target = torch.tensor([[10.0]], device=device)


def forward_twice() -> tuple:
    """Apply the layer twice; return the intermediate h, the prediction and the loss."""
    hidden = layer(x)  # w * x = 6
    y_hat = layer(hidden)  # w * (w * x) = 18
    return hidden, y_hat, (y_hat - target).pow(2).sum()


# Record what reaches the weight during backward: the gradient, and each write to .grad.
hook_calls, writes_to_grad = [], []
handles = [
    layer.weight.register_hook(lambda grad: hook_calls.append(grad.item())),
    layer.weight.register_post_accumulate_grad_hook(lambda p: writes_to_grad.append(p.grad.item())),
]
hidden, y_hat, loss = forward_twice()
hidden.retain_grad()  # keep dL/dhidden, to split the gradient into its two uses below
loss.backward()
for handle in handles:
    handle.remove()

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
print(f"hook on w called with {hook_calls}, .grad written {len(writes_to_grad)} time(s)")
print(f"layer.weight.grad = {autograd_grad:g}")

# The same two calls without retain_grad(): backward() leaves h.grad None...
plain_hidden, _, plain_loss = forward_twice()
plain_loss.backward()
# ...unless backward is asked for h by name: then it fills h.grad and no other .grad.
layer.weight.grad = None
named_hidden, _, named_loss = forward_twice()
named_loss.backward(inputs=[named_hidden])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # reading .grad of a non-leaf tensor warns
    grads_without_retain = (y_hat.grad, plain_hidden.grad)
print(f"without retain_grad: h.grad = {grads_without_retain[1]}; ", end="")
print(f"with backward(inputs=[h]): h.grad = {named_hidden.grad.item():g}")

# With a matrix the two uses no longer contribute equal parts. Untied copies of the layer,
# one per use, receive the parts separately.
torch.manual_seed(0)
square = nn.Linear(4, 4, bias=False).to(device)  # weights drawn on the CPU, then moved
inputs = torch.randn(3, 4).to(device)
inner_copy, outer_copy = copy.deepcopy(square), copy.deepcopy(square)
square(square(inputs)).pow(2).sum().backward()
outer_copy(inner_copy(inputs)).pow(2).sum().backward()
inner_part, outer_part = inner_copy.weight.grad, outer_copy.weight.grad
part_gap = (inner_part - outer_part).abs().max().item()
matrix_parts_differ = not torch.allclose(inner_part, outer_part, rtol=1e-3, atol=1e-3)
matrix_parts_add_up = torch.allclose(inner_part + outer_part, square.weight.grad, atol=1e-4)
print(f"Linear(4, 4) used twice: the parts differ by up to {part_gap:.2f}; ", end="")
print(f"their sum is .grad: {matrix_parts_add_up}")

assert (prediction, residual, dloss_dprediction, dprediction_dw, dloss_dw) == (18, 8, 16, 12, 192)
assert y_hat.item() == prediction and loss.item() == residual**2
assert (hidden_value, hidden_grad) == (6, 48) and outer_use == inner_use == 96
assert hidden_grad == dloss_dprediction * w  # dL/dh: the gradient from above times w
assert autograd_grad == outer_use + inner_use == dloss_dw  # witness: uses-add-up
assert hook_calls == [192] and writes_to_grad == [192]  # witness: summed-once
assert grads_without_retain == (None, None) and hidden.grad is not None  # witness: retain-grad
assert named_hidden.grad.item() == 48 and layer.weight.grad is None  # witness: inputs-fills
assert matrix_parts_differ and matrix_parts_add_up  # witness: matrix-parts-differ

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


# Record what reaches the weight during backward: the gradient, and each accumulation into .grad.
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
# ...unless backward is asked for h by name: then it calls h.retain_grad() itself, and fills
# h.grad, not the weight's .grad.
layer.weight.grad = None
named_hidden, _, named_loss = forward_twice()
retained_before = named_hidden.retains_grad
named_loss.backward(inputs=[named_hidden])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # reading .grad of a non-leaf tensor warns
    grads_without_retain = (y_hat.grad, plain_hidden.grad)
print(f"without retain_grad: h.grad = {grads_without_retain[1]}; ", end="")
print(f"with backward(inputs=[h]): h.grad = {named_hidden.grad.item():g}", end=", ")
print(f"h.retains_grad = {named_hidden.retains_grad}")


# Each use's part, measured: an untied copy of the layer stands in for each use.
def use_parts(layer: nn.Linear, inputs: torch.Tensor, goal: float | torch.Tensor) -> tuple:
    """Apply the layer twice; return each use's part, the tied .grad and G = dL/dy_hat."""
    inner_copy, outer_copy = copy.deepcopy(layer), copy.deepcopy(layer)
    (layer(layer(inputs)) - goal).pow(2).sum().backward()
    untied_output = outer_copy(inner_copy(inputs))
    untied_output.retain_grad()  # G, the gradient that reaches y_hat
    (untied_output - goal).pow(2).sum().backward()
    return inner_copy.weight.grad, outer_copy.weight.grad, layer.weight.grad, untied_output.grad


# Give the layer a bias of 1: h = w x + 1 is no longer w times x, and the parts differ.
biased = nn.Linear(1, 1).to(device)
with torch.no_grad():
    biased.weight.fill_(3.0)
    biased.bias.fill_(1.0)
biased_inner, biased_outer, biased_tied, _ = (g.item() for g in use_parts(biased, x, target))
print(f"with a bias of 1: inner use {biased_inner:g} + outer use {biased_outer:g}", end=" ")
print(f"= {biased_tied:g}")


# With a matrix W the uses contribute W^T G^T X (first) and G^T X W^T (second): the same
# factors, W at the other end.
def matrix_parts(weight: torch.Tensor) -> tuple:
    """Apply a bias-free Linear(4, 4) with this weight twice, to `inputs`, with loss sum(y_hat^2);
    return each use's part, the tied .grad, and the products W^T G^T X and G^T X W^T."""
    square = nn.Linear(4, 4, bias=False).to(device)
    with torch.no_grad():
        square.weight.copy_(weight)
    inner, outer, tied, G = use_parts(square, inputs, 0.0)
    W = square.weight.detach()
    return inner, outer, tied, W.T @ G.T @ inputs, G.T @ inputs @ W.T


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5)


torch.manual_seed(0)
inputs = torch.randn(3, 4).to(device)  # drawn on the CPU, then moved
random_weight = nn.Linear(4, 4, bias=False).weight.detach()  # PyTorch's default initialization
inner_part, outer_part, tied_matrix_grad, *products = matrix_parts(random_weight)
first_product, second_product = products
parts_are_products = close(inner_part, first_product) and close(outer_part, second_product)
part_gap = (inner_part - outer_part).abs().max().item()
matrix_parts_differ = not torch.allclose(inner_part, outer_part, rtol=1e-3, atol=1e-3)
matrix_parts_add_up = close(inner_part + outer_part, tied_matrix_grad)
print(f"Linear(4, 4) used twice: the parts are W^T G^T X and G^T X W^T: {parts_are_products}")
print(f"  they differ by up to {part_gap:.2f}; their sum is .grad: {matrix_parts_add_up}")
# W = 3 I commutes with every matrix, so for it the two parts agree, up to float32 rounding.
identity_inner, identity_outer, *_ = matrix_parts(3 * torch.eye(4, device=device))
identity_gap = (identity_inner - identity_outer).abs().max().item()
float32_step = torch.finfo(torch.float32).eps * identity_inner.abs().max().item()  # at the largest
identity_parts_agree = identity_gap <= 4 * float32_step  # within a few float32 steps
print(f"  with W = 3 I the two parts agree up to rounding: {identity_parts_agree}")

assert (prediction, residual, dloss_dprediction, dprediction_dw, dloss_dw) == (18, 8, 16, 12, 192)
assert y_hat.item() == prediction and loss.item() == residual**2
assert (hidden_value, hidden_grad) == (6, 48) and outer_use == inner_use == 96
assert hidden_grad == dloss_dprediction * w  # dL/dh: the gradient from above times w
assert autograd_grad == outer_use + inner_use == dloss_dw  # witness: uses-add-up
assert hook_calls == [192] and writes_to_grad == [192]  # witness: summed-once
assert grads_without_retain == (None, None) and hidden.grad is not None  # witness: retain-grad
retained_by_backward = not retained_before and named_hidden.retains_grad
assert retained_by_backward and named_hidden.grad.item() == 48  # witness: inputs-fills
assert layer.weight.grad is None  # witness: inputs-only
assert (biased_inner, biased_outer) == (144, 168) and biased_tied == 312  # witness: bias-parts
assert parts_are_products  # witness: matrix-part-products
assert matrix_parts_differ and matrix_parts_add_up  # witness: matrix-parts-differ
assert identity_parts_agree  # witness: identity-parts-agree

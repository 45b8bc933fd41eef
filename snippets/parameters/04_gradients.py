"""A parameter's .grad: None before any backward pass, added to by each one, reset by zero_grad."""

import weakref

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
X = torch.randn(2, 4).to(device)
weight = model[0].weight
unused = nn.Linear(4, 3).to(device)  # a layer that the losses below do not use

grad_before = weight.grad
print("before backward:", grad_before)

model(X).sum().backward()
first = weight.grad.clone()
grad_shape = tuple(weight.grad.shape)
unused_grad = unused.weight.grad
print("after one backward: shape", grad_shape, "dtype", weight.grad.dtype)
print("  the unused layer's .grad:", unused_grad)

model(X).sum().backward()  # a second pass, without clearing .grad first
accumulates = torch.allclose(weight.grad, 2 * first)
print("after a second backward, .grad == 2 * first:", accumulates)

held = weight.grad  # a reference of our own to this gradient tensor
held_values = held.clone()
unheld = weakref.ref(model[2].weight.grad)  # a weak one, which does not keep a tensor alive
model.zero_grad()  # the default is set_to_none=True
grad_after_zero_grad = weight.grad
print("after zero_grad():", grad_after_zero_grad)
held_kept_values = torch.equal(held, held_values) and bool(held.any())  # dropped, not zeroed
unheld_freed = unheld() is None  # nothing else referred to it: freed
print("  a gradient we still refer to keeps its values:", held_kept_values, end=";  ")
print("one nothing refers to is freed:", unheld_freed)

model(X).sum().backward()
torch.optim.SGD(model.parameters(), lr=0.1).zero_grad()  # the optimizer's default is the same
grad_after_optimizer_zero_grad = weight.grad
print("after optimizer.zero_grad():", grad_after_optimizer_zero_grad)

model(X).sum().backward()
model.zero_grad(set_to_none=False)  # the pre-2.0 behaviour: keep the tensors, fill them with zeros
zero_filled = weight.grad is not None and bool(torch.all(weight.grad == 0))
print("after zero_grad(set_to_none=False): a tensor of zeros:", zero_filled)

# A loss can use a parameter without reaching it: through an integer result such as argmax(), or
# through detach(). No gradient flows back, so its .grad stays None too.
outside = nn.Linear(4, 3).to(device)
loss = model(X).sum() + outside(X).argmax() + outside.weight.detach().sum()
loss.backward()
outside_grads = outside.weight.grad, outside.bias.grad
print("used only through argmax() and detach(): .grad", *outside_grads)

# backward(inputs=...) fills only the tensors it lists, though the graph reaches the others too.
model.zero_grad()
model(X).sum().backward(inputs=[model[2].weight])
left_out_grad = weight.grad
print("backward(inputs=[last weight]): first weight's .grad", left_out_grad)

assert grad_before is None  # witness: none-before-backward
assert grad_shape == tuple(weight.shape) == (8, 4)  # witness: grad-has-shape
assert unused_grad is None  # witness: unused-stays-none
assert outside_grads == (None, None)  # witness: outside-graph-stays-none
assert left_out_grad is None and model[2].weight.grad is not None  # witness: inputs-leaves-out
assert accumulates  # witness: backward-adds
assert grad_after_zero_grad is None  # witness: module-zero-grad-none
assert held_kept_values and unheld_freed  # witness: dropped-then-freed
assert grad_after_optimizer_zero_grad is None  # witness: optimizer-zero-grad-none
assert zero_filled  # witness: zero-filled

"""backward() adds into .grad: without zero_grad() every step uses the sum of all past gradients."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 3), torch.randn(8, 1)

nn.functional.mse_loss(model(x), y).backward()
first = model.weight.grad.clone()
nn.functional.mse_loss(model(x), y).backward()  # the mistake: no zero_grad() in between
accumulated_ratio = (model.weight.grad / first).mean().item()
print("second backward without zero_grad: .grad is", round(accumulated_ratio, 3), "times the first")

optimizer.zero_grad()  # the fix: once per step, before backward()
grad_after_zero_grad_is_none = model.weight.grad is None  # set_to_none=True is the default
nn.functional.mse_loss(model(x), y).backward()
fresh_matches_first = torch.allclose(model.weight.grad, first)
print("after optimizer.zero_grad(): .grad is None:", grad_after_zero_grad_is_none)
print("the next backward gives the single-step gradient again:", fresh_matches_first)

# A weight used twice in one forward pass: one backward sums both contributions.
w = torch.tensor(3.0, requires_grad=True)
(2 * w + 5 * w).backward()
used_twice_grad = w.grad.item()
print("d(2w + 5w)/dw after one backward:", used_twice_grad)

assert abs(accumulated_ratio - 2.0) < 1e-5  # witness: backward-adds
assert grad_after_zero_grad_is_none  # witness: zero-grad-none
assert fresh_matches_first
assert used_twice_grad == 7.0  # witness: used-twice-summed

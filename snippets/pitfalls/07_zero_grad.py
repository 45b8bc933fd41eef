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

optimizer.zero_grad()  # the fix: once per optimizer step, before its first backward()
grad_after_zero_grad_is_none = model.weight.grad is None  # set_to_none=True is the default
nn.functional.mse_loss(model(x), y).backward()
fresh_matches_first = torch.allclose(model.weight.grad, first)
print("after optimizer.zero_grad(): .grad is None:", grad_after_zero_grad_is_none)
print("the next backward gives the single-step gradient again:", fresh_matches_first)


steps = 40  # of the fit below


def train(reset: bool) -> tuple[list[float], bool]:
    """Fit a linear model; return the losses and whether .grad ends as the sum of all gradients."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [2.0], [-1.0]]) + 0.1 * torch.randn(64, 1)
    losses, summed = [], torch.zeros_like(model.weight)
    for _ in range(steps):
        if reset:
            optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        # this step's own gradient, computed without touching .grad
        summed += torch.autograd.grad(loss, model.weight, retain_graph=True)[0]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, torch.allclose(model.weight.grad, summed, rtol=1e-4, atol=1e-5)


without_reset, grad_is_sum = train(reset=False)
with_reset, _ = train(reset=True)
rises = sum(later > earlier for earlier, later in zip(without_reset, without_reset[1:]))
lowest = without_reset.index(min(without_reset))
climbed_back = max(without_reset[lowest:]) / min(without_reset)
rises_with_reset = sum(later > earlier for earlier, later in zip(with_reset, with_reset[1:]))
print(
    f"after {steps} steps without zero_grad: .grad is the sum of all {steps} gradients:",
    grad_is_sum,
)
print(f"without zero_grad: lowest loss {min(without_reset):.3f}, last {without_reset[-1]:.3f},")
print(f"  the loss rose in {rises} of {steps - 1} steps, up to {climbed_back:.0f} times its lowest")
print(f"with zero_grad: last loss {with_reset[-1]:.3f}, the loss rose in {rises_with_reset} steps")

assert abs(accumulated_ratio - 2.0) < 1e-5  # witness: backward-adds
assert grad_after_zero_grad_is_none  # witness: zero-grad-none
assert fresh_matches_first
assert grad_is_sum  # witness: grad-is-sum-of-past
assert rises >= 10 and climbed_back > 20  # witness: loss-swings
assert rises_with_reset == 0 and with_reset[-1] < min(without_reset)  # witness: reset-settles

"""Why `output.sum()` is a poor test loss: a layer whose outputs sum to zero gets zero gradients."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CenteredLayer(nn.Module):
    """Subtracts each example's mean over its features. It has no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(5, 3), CenteredLayer()).to(device)
x = torch.randn(4, 5).to(device)

# The obvious loss: every row of the output sums to zero, whatever the weights are.
sum_loss = model(x).sum()
other_weights = nn.Sequential(nn.Linear(5, 3), CenteredLayer()).to(device)
other_loss = other_weights(x).sum()
print(
    "output.sum(), up to rounding, with these weights and with others:",
    f"{abs(sum_loss.item()):.4f} and {abs(other_loss.item()):.4f}",
)
sum_loss.backward()
sum_loss_grad = model[0].weight.grad  # backward reached the weight: a tensor, not None
sum_loss_nonzero = int(sum_loss_grad.count_nonzero())
print(
    "loss = output.sum():          non-zero weight gradients:",
    sum_loss_nonzero,
    "of",
    model[0].weight.numel(),
)

# A random weighting of the output elements: each one now matters to the loss.
model.zero_grad()
output = model(x)
projection = torch.randn(output.shape).to(device)
(output * projection).sum().backward()
projected_nonzero = int(model[0].weight.grad.count_nonzero())
print(
    "loss = (output * random).sum(): non-zero weight gradients:",
    projected_nonzero,
    "of",
    model[0].weight.numel(),
)

assert abs(sum_loss.item()) < 1e-5 and abs(other_loss.item()) < 1e-5  # witness: sum-is-constant
assert sum_loss_grad is not None and sum_loss_nonzero == 0  # witness: reached-with-zero-slope
assert projected_nonzero == model[0].weight.numel() == 15

"""Exercise: hidden units that start equal stay equal, so a wide layer acts like a single unit."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
inputs = torch.randn(64, 5)
targets = inputs[:, :1] * inputs[:, 1:2] + inputs[:, 2:3].sin()  # something one unit cannot fit
X, y = inputs.to(device), targets.to(device)


def train(model: nn.Sequential, steps: int = 100, data: tuple = (X, y)) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(data[0]), data[1])
        loss.backward()
        optimizer.step()
    return loss.item()


# Units count as equal when their incoming weights agree within this tolerance. On any device,
# the matrix product that computes the weight gradient may round two equal rows differently (by
# ~1e-7), and training can amplify such a difference, since equal units are an unstable state;
# so allow far more than that. Units that differ do so by ~0.1.
tolerance = 1e-2


def distinct_hidden_units(model: nn.Sequential) -> int:
    """Count hidden units whose incoming weights differ from every earlier unit's."""
    rows = model[0].weight.detach()
    distinct = []
    for row in rows:
        if not any(torch.allclose(row, other, rtol=0, atol=tolerance) for other in distinct):
            distinct.append(row)
    return len(distinct)


def smallest_gap(model: nn.Sequential) -> float:
    """The smallest difference between two hidden units' incoming weights (largest entry)."""
    rows = model[0].weight.detach()
    return torch.cdist(rows, rows, p=float("inf")).fill_diagonal_(float("inf")).min().item()


torch.manual_seed(0)
constant_model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
for layer in (constant_model[0], constant_model[2]):
    nn.init.constant_(layer.weight, 0.5)
    nn.init.zeros_(layer.bias)
torch.manual_seed(0)
random_model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))

constant_model.to(device)
random_model.to(device)

# Equal units get equal gradients: every row of the first layer's gradient is the same, up to
# rounding. Each entry is a sum of 64 products (the gradient at the layer's output times the
# input), and such a sum is off by at most about 64 * eps * (the sum of the products' sizes).
hidden = constant_model[0](X)
hidden.retain_grad()
nn.functional.mse_loss(constant_model[2](constant_model[1](hidden)), y).backward()
first_gradient = constant_model[0].weight.grad
equal_gradients = torch.allclose(first_gradient, first_gradient[0].expand_as(first_gradient))
bias_gradient, out_gradient = constant_model[0].bias.grad, constant_model[2].weight.grad
equal_gradients &= torch.allclose(bias_gradient, bias_gradient[0].expand_as(bias_gradient))
equal_gradients &= torch.allclose(out_gradient, out_gradient[:, :1].expand_as(out_gradient))
gradient_rows_gap = (first_gradient - first_gradient[0]).abs().max().item()
# The product's inputs are equal bit for bit: every column of hidden.grad is the same. So any
# difference between the rows comes from the product hidden.grad.T @ X itself.
equal_product_inputs = torch.equal(hidden.grad, hidden.grad[:, :1].expand_as(hidden.grad))
product_sizes = hidden.grad.abs().T @ X.abs()  # per entry: the sum of |product| over the 64 rows
rounding_bound = len(X) * torch.finfo(torch.float32).eps * product_sizes.max().item()
constant_model.zero_grad()
constant_loss = train(constant_model)
random_loss = train(random_model)
constant_distinct = distinct_hidden_units(constant_model)
random_distinct = distinct_hidden_units(random_model)
constant_spread = (constant_model[0].weight - constant_model[0].weight[0]).abs().max().item()
random_gap = smallest_gap(random_model)

# The trained constant model computes what one unit does: unit 0's incoming weights and bias, as
# its outgoing weight the sum of the 16 outgoing weights, and the same output bias.
one_unit = nn.Sequential(nn.Linear(5, 1), nn.Tanh(), nn.Linear(1, 1)).to(device)
with torch.no_grad():
    one_unit[0].weight.copy_(constant_model[0].weight[:1])
    one_unit[0].bias.copy_(constant_model[0].bias[:1])
    one_unit[2].weight.fill_(constant_model[2].weight.sum())
    one_unit[2].bias.copy_(constant_model[2].bias)
    one_unit_gap = (constant_model(X) - one_unit(X)).abs().max().item()

# Why a difference of rounding size can grow: equal units are an unstable state. In float64 on the
# CPU, where rounding is far smaller, nudge one unit's incoming weights by 1e-8 and train the same
# 100 steps: the difference between the two units grows.
nudge = 1e-8
nudged = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1)).double()
for layer in (nudged[0], nudged[2]):
    nn.init.constant_(layer.weight, 0.5)
    nn.init.zeros_(layer.bias)
with torch.no_grad():
    nudged[0].weight[1] += nudge
train(nudged, data=(inputs.double(), targets.double()))
nudge_grown = (nudged[0].weight[1] - nudged[0].weight[0]).abs().max().item()

print(
    f"constant init: {constant_distinct} distinct hidden unit(s) of 16 after training, "
    f"loss {constant_loss:.3f}"
)
print(
    f"random init:   {random_distinct} distinct hidden units of 16 after training, "
    f"loss {random_loss:.3f}"
)

print("equal units, equal gradients at the first step:", equal_gradients)
print(
    f"  rows bit-equal: {gradient_rows_gap == 0}, largest difference {gradient_rows_gap:.1e} "
    f"(rounding bound {rounding_bound:.1e})"
)
print(f"largest difference between constant-init units {constant_spread:.1e}")
print(f"smallest difference between random-init units {random_gap:.1e}")
print(f"constant-init model against a single unit: outputs differ by {one_unit_gap:.1e}")
print(
    f"float64, one unit nudged by {nudge:.0e}: 100 steps later the two differ by {nudge_grown:.1e}"
)

assert equal_gradients  # witness: equal-units-equal-gradients
assert (
    equal_product_inputs and gradient_rows_gap <= rounding_bound
)  # witness: gradient-rows-agree-to-rounding
assert constant_distinct == 1 and random_distinct == 16
assert constant_spread < tolerance < random_gap  # witness: stay-equal
assert random_loss < constant_loss / 2  # witness: random-lower-loss
assert one_unit_gap < 1e-3  # witness: one-unit-network
assert nudge_grown > 100 * nudge  # witness: equal-units-unstable

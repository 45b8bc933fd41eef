"""The small-module test written by hand for one layer: shape, finite values, loss, gradients."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class MyLinear(nn.Module):
    """A linear layer followed by ReLU, with its own weight and bias parameters."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight + self.bias)


torch.manual_seed(0)
layer = MyLinear(5, 3).to(device)
x = torch.randn(4, 5).to(device)  # synthetic input: a batch of 4 examples with 5 features

# 1. Shape and values of the output.
y = layer(x)
output_shape = tuple(y.shape)
all_finite = bool(torch.isfinite(y).all())
print("output shape:", output_shape, " all finite:", all_finite)

# 2. A scalar loss, and the gradients it sends back.
grads_before = {name: p.grad for name, p in layer.named_parameters()}
loss = y.sum()
loss.backward()
print("grads before backward:", grads_before)
for name, p in layer.named_parameters():
    print(
        f"{name:6} grad shape {tuple(p.grad.shape)}, "
        f"non-zero entries: {int(p.grad.count_nonzero())}"
    )
with_gradient = sorted(
    n for n, p in layer.named_parameters() if p.grad is not None and p.grad.count_nonzero() > 0
)
expected = sorted(n for n, p in layer.named_parameters() if p.requires_grad)
with_gradient_names = ", ".join(with_gradient)
print(
    "parameters with a non-zero gradient:", with_gradient_names, " expected:", ", ".join(expected)
)

# 3. Freeze the bias and run again: only parameters with requires_grad get a gradient.
layer.zero_grad()  # sets each .grad to None (set_to_none=True is its default)
grads_after_zero_grad = [p.grad for p in layer.parameters()]
layer.bias.requires_grad_(False)
layer(x).sum().backward()
frozen_run = sorted(
    n for n, p in layer.named_parameters() if p.grad is not None and p.grad.count_nonzero() > 0
)
print("with the bias frozen, parameters with a non-zero gradient:", ", ".join(frozen_run))
layer.zero_grad(set_to_none=False)  # zeroes each existing .grad in place; a None stays None
weight_grad = layer.weight.grad
zeroed = weight_grad is not None and bool((weight_grad == 0).all()) and layer.bias.grad is None
print("after zero_grad(set_to_none=False): weight grad all zeros, bias grad None:", zeroed)

# 4. An optimizer tells a zero .grad from None: weight decay moves a parameter with the first
#    (these entries of 1 shrink), and skips one with the second.
decay_results = []
for optimizer_class in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
    zeros, unreached = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))
    zeros.grad = torch.zeros(3)  # unreached.grad stays None
    optimizer_class([zeros, unreached], lr=0.1, weight_decay=0.1).step()
    decay_results.append(bool((zeros < 1).all()) and bool((unreached == 1).all()))
print("SGD, Adam, AdamW: decay moves a zero-.grad parameter, skips a None one:", decay_results)

assert output_shape == (4, 3) and all_finite
assert all(g is None for g in grads_before.values())  # witness: grad-none-before-backward
assert (  # witness: grads-reach-requires-grad
    with_gradient == expected == ["bias", "weight"]
    and frozen_run == ["weight"]
    and layer.bias.grad is None
)
assert layer.weight.grad.shape == layer.weight.shape
assert all(g is None for g in grads_after_zero_grad)  # witness: zero-grad-sets-none
assert zeroed  # witness: zero-grad-keeps-zeros
assert decay_results == [True, True, True]  # witness: decay-zeros-not-none

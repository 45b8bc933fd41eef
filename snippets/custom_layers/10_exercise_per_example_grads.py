"""Exercise: per-example gradients with functional_call, torch.func.grad and torch.func.vmap."""

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(device)
x = torch.randn(5, 3).to(device)
y = torch.randn(5, 1).to(device)
params = {name: p.detach() for name, p in model.named_parameters()}


def loss_of_one(params: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
    """The loss of a single example, as a function of the parameters."""
    prediction = functional_call(model, params, (xi.unsqueeze(0),))  # a batch of one
    return (prediction - yi.unsqueeze(0)).pow(2).mean()


# grad differentiates with respect to the first argument; vmap maps over the examples.
per_example = vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, x, y)
first_weight_grads_shape = tuple(per_example["0.weight"].shape)
print({name: tuple(g.shape) for name, g in per_example.items()})

# The slow way, one backward pass per example, for comparison.
matches = True
for i in range(len(x)):
    model.zero_grad()
    (model(x[i : i + 1]) - y[i : i + 1]).pow(2).mean().backward()
    matches &= all(
        torch.allclose(per_example[n][i], p.grad, atol=1e-6) for n, p in model.named_parameters()
    )
print("matches a loop of 5 separate backward passes:", matches)

assert first_weight_grads_shape == (5, 4, 3)
assert matches  # witness: matches-loop

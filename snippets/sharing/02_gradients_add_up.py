"""The shared weight's .grad is the sum of what each use would get as a separate layer."""

import copy

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
shared = nn.Linear(8, 8)
tied = nn.Sequential(
    nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
)
# The same function built from separate layers: index 4 gets its own copy of the shared layer.
untied = nn.Sequential(*[copy.deepcopy(layer) for layer in tied])
tied.to(device)
untied.to(device)

X = torch.randn(16, 4).to(device)
same_output = torch.allclose(tied(X), untied(X))
for model in (tied, untied):
    model(X).pow(2).mean().backward()

grad_sum = untied[2].weight.grad + untied[4].weight.grad
grads_add_up = torch.allclose(tied[2].weight.grad, grad_sum, atol=1e-6)
uses_differ = not torch.allclose(untied[2].weight.grad, untied[4].weight.grad)
print("same outputs before training:", same_output)
print("tied .grad == grad of the first use + grad of the second use:", grads_add_up)
print("the two uses contribute different amounts:", uses_differ)

# One plain gradient step on each model.
for model in (tied, untied):
    torch.optim.SGD(model.parameters(), lr=0.1).step()
copies_apart = not torch.allclose(untied[2].weight, untied[4].weight)
still_one_tensor = tied[2].weight is tied[4].weight
outputs_differ = not torch.allclose(tied(X), untied(X))
print(
    "after one step: untied copies apart:",
    copies_apart,
    " tied still one tensor:",
    still_one_tensor,
    " outputs differ:",
    outputs_differ,
)

assert untied[2] is not untied[4]
assert same_output and grads_add_up and uses_differ
assert copies_apart and still_one_tensor and outputs_differ

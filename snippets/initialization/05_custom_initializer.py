"""A custom initializer: start a classifier's output layer at the class frequencies."""

import math

import torch
from torch import nn
from torch.nn import functional as F


@torch.no_grad()
def init_to_class_prior_(layer: nn.Linear, class_frequencies: torch.Tensor) -> nn.Linear:
    """Zero weights and log-frequency biases: softmax(layer(x)) equals the frequencies for any x."""
    layer.weight.zero_()
    layer.bias.copy_(class_frequencies.log())
    return layer


torch.manual_seed(0)
features = torch.randn(100, 16)
labels = torch.tensor([0] * 70 + [1] * 20 + [2] * 10)  # an imbalanced data set
frequencies = torch.bincount(labels).float() / len(labels)
proportions = " : ".join(str(count) for count in torch.bincount(labels).tolist())
print(f"classes in the proportions {proportions}")

default_head = nn.Linear(16, 3)
prior_head = init_to_class_prior_(nn.Linear(16, 3), frequencies)

default_loss = F.cross_entropy(default_head(features), labels).item()
prior_loss_tensor = F.cross_entropy(prior_head(features), labels)
prior_loss = prior_loss_tensor.item()
entropy = -(frequencies * frequencies.log()).sum().item()  # the best loss without using features
uniform_loss = math.log(3)  # a model that says 1/3 for every class

probabilities = prior_head(features).softmax(dim=1)
matches_prior = torch.allclose(probabilities, frequencies.expand(100, 3), atol=1e-6)
print(
    f"start loss: default init {default_loss:.3f}, uniform guess {uniform_loss:.3f}, "
    f"prior init {prior_loss:.3f}"
)
print(f"entropy of the class frequencies: {entropy:.3f}")
print("every prediction equals the class frequencies:", matches_prior)

# The layer is still an ordinary trainable leaf, and zero weights still receive gradients.
prior_loss_tensor.backward()
still_trainable = prior_head.weight.is_leaf and prior_head.weight.requires_grad
weight_gets_gradient = bool(prior_head.weight.grad.abs().sum() > 0)
# Row c of the gradient is the inputs weighted by how wrong class c's probability is.
errors = probabilities.detach() - F.one_hot(labels, 3)
gradient_is_error_times_input = torch.allclose(
    prior_head.weight.grad, errors.T @ features / len(labels), atol=1e-6
)
print(
    "weight is a trainable leaf:", still_trainable, " weight gets a gradient:", weight_gets_gradient
)

assert matches_prior  # witness: prediction-equals-frequencies
assert math.isclose(prior_loss, entropy, rel_tol=1e-5)
assert prior_loss < uniform_loss < default_loss
assert still_trainable
assert weight_gets_gradient and gradient_is_error_times_input  # witness: zero-weights-get-gradient
assert proportions == "70 : 20 : 10"

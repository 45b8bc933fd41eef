"""Count the parameters of Linear(10, 8) -> ReLU -> Linear(8, 3), by hand and with PyTorch."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
hidden, relu, output = model

# By hand: Linear(d_in, d_out) holds a d_out x d_in weight and one bias per output.
hidden_weights = hidden.in_features * hidden.out_features
hidden_biases = hidden.out_features
hidden_total = hidden_weights + hidden_biases
output_weights = output.in_features * output.out_features
output_biases = output.out_features
output_total = output_weights + output_biases
relu_total = sum(p.numel() for p in relu.parameters())
by_hand = hidden_total + relu_total + output_total

# PyTorch: every element of every parameter tensor the model owns.
total = sum(p.numel() for p in model.parameters())
parameter_names = ", ".join(name for name, _ in model.named_parameters())

for name, parameter in model.named_parameters():
    print(f"{name:9} shape {str(tuple(parameter.shape)):8} {parameter.numel():3} numbers")
print(f"by hand: {hidden_total} + {relu_total} + {output_total} = {by_hand}")
print(f"PyTorch: {total}")

# parameters() counts frozen parameters too; the trainable ones are those that require grad.
trainable_before = sum(p.numel() for p in model.parameters() if p.requires_grad)
hidden.requires_grad_(False)  # freeze the first layer
total_after_freezing = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
frozen_still_listed = any(p is hidden.weight for p in model.parameters())
print(f"nothing frozen: {total} parameters, {trainable_before} trainable")
print(f"first layer frozen: {total_after_freezing} parameters, {trainable} trainable")

# What a Linear layer computes, and where its parameters live.
x = torch.randn(2, 10)
computes_affine = torch.allclose(hidden(x), x @ hidden.weight.T + hidden.bias)
owned_directly = list(model.parameters(recurse=False))  # the Sequential itself owns none
child_names = [name for name, _ in model.named_children()]

assert (hidden_total, relu_total, output_total) == (88, 0, 27)
assert by_hand == total == 115
assert parameter_names == "0.weight, 0.bias, 2.weight, 2.bias"
assert computes_affine  # witness: linear-affine
assert hidden.weight.shape == (8, 10) and hidden.bias.shape == (8,)  # witness: weight-shape
assert owned_directly == [] and total == 115  # witness: from-submodules
assert child_names == ["0", "1", "2"]  # witness: named-by-position
assert trainable_before == total  # witness: equal-before
assert frozen_still_listed and total_after_freezing == 115  # witness: counts-frozen
assert trainable == output_total == 27  # witness: trainable-only

"""Count the parameters of Linear(10, 8) -> ReLU -> Linear(8, 3), by hand and with PyTorch."""

import torch
from torch import nn

torch.manual_seed(0)
sizes = [10, 8, 3]  # the design: 10 inputs, 8 hidden units, 3 outputs
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))  # the model as built
hidden, relu, output = model
x = torch.randn(2, 10)  # a batch of 2 inputs

# By hand, from the design alone: Linear(d_in, d_out) computes x @ W.T + b, with a d_out x d_in
# weight W and one bias per output.
hidden_weights = sizes[0] * sizes[1]
hidden_biases = sizes[1]
hidden_total = hidden_weights + hidden_biases
output_weights = sizes[1] * sizes[2]
output_biases = sizes[2]
output_total = output_weights + output_biases
relu_total = 0  # a fixed function, max(x, 0): ReLU registers no parameter to learn
by_hand = hidden_total + relu_total + output_total


# PyTorch, from the built model: every element of every parameter tensor it owns.
def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


total = count(model)
# What the built layers compute (for the by-hand section's statements).
computes_affine = torch.allclose(hidden(x), x @ hidden.weight.T + hidden.bias)
relu_is_max = torch.equal(relu(x), x.clamp(min=0))
tensor_count = len(list(model.parameters()))
owned_directly = list(model.parameters(recurse=False))  # the Sequential itself owns none
child_names = [name for name, _ in model.named_children()]
parameter_names = ", ".join(name for name, _ in model.named_parameters())
for name, parameter in model.named_parameters():
    print(f"{name:9} shape {str(tuple(parameter.shape)):8} {parameter.numel():3} numbers")
print(f"by hand, from the design: {hidden_total} + {relu_total} + {output_total} = {by_hand}")
print(f"PyTorch, from the model:  {total}")
# Two layers sharing one Parameter object: parameters() yields each object once.
first, second = nn.Linear(8, 8), nn.Linear(8, 8)
second.weight = first.weight
shared = nn.Sequential(first, nn.ReLU(), second)
shared_tensors = len(list(shared.parameters()))  # first.weight, first.bias, second.bias
shared_count = count(shared)
print(f"two Linear(8, 8) sharing their weight: {shared_count} parameters")


# What a count catches. The last layer built with 4 outputs: PyTorch's count no longer matches
# the design, but arithmetic on the sizes read back from the built layers follows the mistake.
def count_from_layers(stack: nn.Sequential) -> int:
    linears = [layer for layer in stack if isinstance(layer, nn.Linear)]
    weights = sum(layer.in_features * layer.out_features for layer in linears)
    biases = sum(layer.out_features for layer in linears if layer.bias is not None)
    return weights + biases


miswired = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))
miswired_count = count(miswired)
miswired_from_layers = count_from_layers(miswired)
print(f"last layer 4 wide: PyTorch {miswired_count}, from its own layers {miswired_from_layers}")
# What it misses. Two wrong sizes: 12 inputs and 7 hidden units make 12 * 7 + 7 + 7 * 3 + 3 = 115.
two_wrong = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))
two_wrong_count = count(two_wrong)
two_wrong_sizes = [two_wrong[0].in_features, two_wrong[0].out_features, two_wrong[2].out_features]
print(f"sizes {two_wrong_sizes} instead of {sizes}: {two_wrong_count}")
# The two sizes of a layer swapped: without bias, a 10 x 8 weight holds as many numbers as 8 x 10.
swapped = nn.Linear(8, 10, bias=False)
swap_kept_count = count(swapped) == count(nn.Linear(10, 8, bias=False))
swap_with_bias_change = count(nn.Linear(8, 10)) - count(nn.Linear(10, 8))  # a bias per output
print(f"Linear(8, 10), not (10, 8): same count without bias, {swap_with_bias_change} more with")
# A layer without parameters: the model's own layers without its ReLU have the same count.
without_relu = nn.Sequential(hidden, output)  # the same module objects: it shares their parameters
without_relu_count = count(without_relu)
print(f"the model's two layers without its ReLU: {without_relu_count} parameters")


# A forward pass sees some of what the count misses.
def forward_error(module: nn.Module, batch: torch.Tensor) -> str:
    try:
        module(batch)
    except RuntimeError as error:
        return str(error)
    return ""


two_wrong_error = forward_error(two_wrong, x)
swap_error = forward_error(swapped, x)
print(f"sizes {two_wrong_sizes} on a batch of width 10: {two_wrong_error}")
print(f"Linear(8, 10) on a batch of width 10: {swap_error}")
runs_anyway = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 7))  # wrong, and also 115
runs_anyway_count = count(runs_anyway)
runs_anyway_shape = tuple(runs_anyway(x).shape)
print(f"sizes [10, 6, 7]: {runs_anyway_count} parameters, output shape {runs_anyway_shape}")
# Dropping the ReLU matters only where a hidden unit is negative, as on this batch.
hidden_units = hidden(x)
negative_hidden = bool((hidden_units < 0).any())
kept = hidden_units >= 0  # max(x, 0) leaves these as they are
keeps_the_rest = torch.equal(relu(hidden_units)[kept], hidden_units[kept])
relu_matters = not torch.equal(model(x), without_relu(x))
print("the model's layers without its ReLU give other outputs:", relu_matters)

# parameters() counts frozen parameters too; the trainable ones are those that require grad.
trainable_before = sum(p.numel() for p in model.parameters() if p.requires_grad)
hidden.requires_grad_(False)  # freeze the first layer (after the model's last forward pass)
total_after_freezing = count(model)
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
trainable_tensors = [p for p in model.parameters() if p.requires_grad]
frozen_still_listed = any(p is hidden.weight for p in model.parameters())
print(f"nothing frozen: {total} parameters, {trainable_before} trainable")
print(f"first layer frozen: {total_after_freezing} parameters, {trainable} trainable")

assert total == by_hand == 115  # witness: design-matches-model
assert computes_affine  # witness: linear-affine
assert hidden.weight.shape == (8, 10) and hidden.bias.shape == (8,)  # witness: weight-shape
assert (hidden_total, relu_total, output_total) == (88, 0, 27)
assert (hidden_weights, hidden_biases, output_weights, output_biases) == (80, 8, 24, 3)
assert relu_is_max and list(relu.parameters()) == []  # witness: relu-has-none
assert owned_directly == [] and tensor_count == 4 and total == 115  # witness: from-submodules
shared_once = second.weight is first.weight and shared_tensors == 3
assert shared_once and shared_count == 64 + 8 + 8 == 80  # witness: shared-counted-once
assert child_names == ["0", "1", "2"]  # witness: named-by-position
assert parameter_names == "0.weight, 0.bias, 2.weight, 2.bias"
assert miswired_count != by_hand  # witness: design-catches-wiring
assert miswired_from_layers == miswired_count == 124  # witness: layer-sizes-follow-mistake
wrong_sizes = sum(built != designed for built, designed in zip(two_wrong_sizes, sizes))
assert wrong_sizes == 2 and two_wrong_count == total == 115  # witness: sizes-cancel
transposed = swapped.weight.T.shape == hidden.weight.shape
assert transposed and swap_kept_count  # witness: swap-cancels
bias_per_output = nn.Linear(8, 10).bias.shape == (10,) and nn.Linear(10, 8).bias.shape == (8,)
assert bias_per_output and swap_with_bias_change == 10 - 8  # witness: swap-with-bias-changes
assert without_relu_count == total == 115  # witness: sizes-only
assert "cannot be multiplied (2x10 and 12x7)" in two_wrong_error  # witness: forward-catches-sizes
assert "cannot be multiplied (2x10 and 8x10)" in swap_error  # witness: swap-raises
runs_with_7_outputs = runs_anyway_count == total and runs_anyway_shape == (len(x), 7)
assert runs_with_7_outputs  # witness: other-wrong-sizes-run
assert negative_hidden and relu_matters and keeps_the_rest  # witness: forward-catches-relu
assert trainable_before == total  # witness: equal-before
really_frozen = not hidden.weight.requires_grad and not hidden.bias.requires_grad
listed_though_frozen = frozen_still_listed and really_frozen
assert listed_though_frozen and total_after_freezing == 115  # witness: counts-frozen
second_layer_left = trainable_tensors[0] is output.weight and trainable_tensors[1] is output.bias
assert len(trainable_tensors) == 2 and second_layer_left  # witness: trainable-only
assert trainable == output_total == 27

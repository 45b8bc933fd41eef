"""nn.Linear's default init: weight and bias uniform in ±1/sqrt(fan_in), checked empirically."""

import math

import torch
from torch import nn

torch.manual_seed(0)
layer = nn.Linear(256, 128)

# The weight has shape (out_features, in_features); fan_in is the number of inputs per output.
fan_in = layer.weight.shape[1]
bound = 1 / math.sqrt(fan_in)
# PyTorch gets there through kaiming_uniform_(weight, a=sqrt(5)):
# gain sqrt(2 / (1 + a^2)) = sqrt(1/3), std = gain / sqrt(fan_in),
# and a uniform distribution of that std has bound sqrt(3) * std.
gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
kaiming_bound = math.sqrt(3) * gain / math.sqrt(fan_in)

weight_count = layer.weight.numel()
weight_max = layer.weight.abs().max().item()
gap_to_bound = bound - weight_max  # how close the draws come to the bound (-bound can be drawn)
bias_max = layer.bias.abs().max().item()
weight_std = layer.weight.std().item()
uniform_std = bound / math.sqrt(3)  # the standard deviation of Uniform(-bound, bound)
weight_mean = layer.weight.mean().item()

print(
    f"fan_in = {fan_in}, bound 1/sqrt(fan_in) = {bound:.4f}, "
    f"via kaiming_uniform_(a=sqrt(5)): {kaiming_bound:.4f}"
)
print(f"largest |weight| of {weight_count} = {weight_max:.5f}, {gap_to_bound:.1e} below the bound")
print(f"largest |bias| = {bias_max:.5f}")
print(
    f"weight std = {weight_std:.4f}   std of Uniform(-bound, bound) = {uniform_std:.4f}   "
    f"mean = {weight_mean:+.5f}"
)

# For comparison: the uniform form of He et al.'s rule for ReLU layers, kaiming_uniform_ with
# nonlinearity="relu", drawn with its own generator (the global stream stays put).
relu_bound = math.sqrt(6 / fan_in)
relu_ratio = relu_bound / bound
he_weight = nn.init.kaiming_uniform_(
    torch.empty(128, 256), nonlinearity="relu", generator=torch.Generator().manual_seed(0)
)
he_max = he_weight.abs().max().item()
print(
    f"ReLU-preserving bound sqrt(6/fan_in) = {relu_bound:.4f}, {relu_ratio:.2f} times the default;"
    f" kaiming_uniform_(relu): largest |w| {he_max:.4f}"
)

# The same seed and kaiming_uniform_(a=sqrt(5)) on an empty weight reproduce the layer exactly.
torch.manual_seed(0)
redrawn = nn.init.kaiming_uniform_(torch.empty(128, 256), a=math.sqrt(5))
same_as_kaiming_sqrt5 = torch.equal(redrawn, layer.weight)
print("the constructor's weight is kaiming_uniform_(a=sqrt(5)):", same_as_kaiming_sqrt5)
# And the rule itself: reseeded, uniform_(-bound, bound) draws exactly the weight, then the bias.
torch.manual_seed(0)
uniform_weight = torch.empty(128, 256).uniform_(-bound, bound)
uniform_bias = torch.empty(128).uniform_(-bound, bound)
uniform_replayed = torch.equal(uniform_weight, layer.weight)
uniform_replayed &= torch.equal(uniform_bias, layer.bias)
print("weight and bias are uniform_(-bound, bound), drawn in that order:", uniform_replayed)

assert (
    fan_in == 256
    and weight_count == 32768
    and bound == 0.0625
    and math.isclose(kaiming_bound, bound)
)
assert layer.weight.shape == (128, 256)  # witness: weight-out-by-in
assert math.isclose(gain, math.sqrt(1 / 3))  # witness: gain-sqrt-one-third
within_bound = 0 <= gap_to_bound < 1e-5 and 0.9 * bound < bias_max <= bound
assert uniform_replayed and within_bound  # witness: bound
assert math.isclose(weight_std, uniform_std, rel_tol=0.02)  # witness: uniform-std
assert abs(weight_mean) < 0.001
assert same_as_kaiming_sqrt5  # witness: kaiming-sqrt5
assert math.isclose(relu_ratio, math.sqrt(6))
he_within_bound = 0.99 * relu_bound < he_max <= relu_bound
assert he_within_bound  # witness: he-relu-bound

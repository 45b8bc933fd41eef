"""Other layers, other defaults: convolutions, embeddings and normalization layers."""

import math

import torch
from torch import nn

torch.manual_seed(0)

# A convolution's fan_in counts every input one output sees:
# (in_channels / groups) * kernel height * kernel width, the product of weight.shape[1:].
conv = nn.Conv2d(3, 16, kernel_size=3)
conv_fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
conv_bound = 1 / math.sqrt(conv_fan_in)
conv_max = conv.weight.abs().max().item()
print(
    f"Conv2d(3, 16, 3):   fan_in {conv_fan_in}, bound {conv_bound:.4f}, "
    f"largest |weight| {conv_max:.4f}"
)

# With groups, each output sees only its group's channels: here 4 / 4 = 1 channel.
grouped = nn.Conv2d(4, 8, kernel_size=3, groups=4)
grouped_fan_in = (
    grouped.in_channels // grouped.groups * grouped.kernel_size[0] * grouped.kernel_size[1]
)
grouped_bound = 1 / math.sqrt(grouped_fan_in)
grouped_max = grouped.weight.abs().max().item()
print(
    f"Conv2d(4, 8, 3, groups=4): fan_in {grouped_fan_in}, bound {grouped_bound:.4f}, "
    f"largest |weight| {grouped_max:.4f}"
)

# An embedding table is drawn from a standard normal distribution: no fan_in scaling at all.
embedding = nn.Embedding(1000, 64)
embedding_std = embedding.weight.std().item()
print(f"Embedding(1000, 64): weight std {embedding_std:.3f}")

# Normalization layers start with scale 1 and shift 0: at first they only normalize.
layer_norm = nn.LayerNorm(64)
batch_norm = nn.BatchNorm1d(64)
starts_as_identity = all(
    torch.all(norm.weight == 1) and torch.all(norm.bias == 0) for norm in (layer_norm, batch_norm)
)
print("LayerNorm and BatchNorm1d start with weight 1 and bias 0:", starts_as_identity)

assert conv_fan_in == 27 == conv.weight.shape[1:].numel()
assert 0.98 * conv_bound < conv_max <= conv_bound
assert grouped_fan_in == 9 == grouped.weight.shape[1:].numel()
assert 0.9 * grouped_bound < grouped_max <= grouped_bound
assert abs(embedding_std - 1.0) < 0.02
assert starts_as_identity

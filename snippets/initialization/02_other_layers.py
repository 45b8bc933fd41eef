"""Other layers, other defaults: convolutions, embeddings and normalization layers."""

import math

import torch
from torch import nn

torch.manual_seed(0)

# A convolution's fan_in counts every input it sees: in_channels * kernel height * kernel width.
conv = nn.Conv2d(3, 16, kernel_size=3)
conv_fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
conv_bound = 1 / math.sqrt(conv_fan_in)
conv_max = conv.weight.abs().max().item()
print(
    f"Conv2d(3, 16, 3):   fan_in {conv_fan_in}, bound {conv_bound:.4f}, largest |weight| {conv_max:.4f}"
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

assert conv_fan_in == 27 and 0.98 * conv_bound < conv_max <= conv_bound
assert abs(embedding_std - 1.0) < 0.02
assert starts_as_identity

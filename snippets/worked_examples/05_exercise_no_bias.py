"""Exercise: the same stack without biases, and a counter for any stack of linear layers."""

from itertools import pairwise

import torch
from torch import nn


def linear_stack(sizes: list[int], bias: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for d_in, d_out in pairwise(sizes):
        layers += [nn.Linear(d_in, d_out, bias=bias), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the last layer


def count_by_hand(sizes: list[int], bias: bool = True) -> int:
    return sum(d_in * d_out + (d_out if bias else 0) for d_in, d_out in pairwise(sizes))


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


design = linear_stack([10, 8, 3], bias=False)
without_bias = count(design)
by_formula = count_by_hand([784, 256, 128, 10])
mnist_mlp = count(linear_stack([784, 256, 128, 10]))
mnist_without_bias = count(linear_stack([784, 256, 128, 10], bias=False))
print("Linear(10, 8) -> ReLU -> Linear(8, 3) without biases:", without_bias)
print("784 -> 256 -> 128 -> 10 with biases, by the formula:", by_formula, " by PyTorch:", mnist_mlp)
print("  without biases, by PyTorch:", mnist_without_bias)

# The first layer built with its sizes swapped: a 10 x 8 weight instead of 8 x 10, as many numbers.
swapped = nn.Sequential(nn.Linear(8, 10, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))
swapped_count = count(swapped)
print("the same, first layer built as Linear(8, 10):", swapped_count)
with_bias_change = count(nn.Linear(8, 10)) - count(nn.Linear(10, 8))  # a bias per output
print("with a bias, Linear(8, 10) holds", with_bias_change, "more than Linear(10, 8)")
try:  # but a batch of the design's width does not fit the swapped layer's 8 inputs
    swapped(torch.zeros(2, 10))
    forward_error = ""
except RuntimeError as error:
    forward_error = str(error)
print("its forward pass on a batch of width 10:", forward_error)

assert without_bias == count_by_hand([10, 8, 3], bias=False) == 104
assert mnist_mlp == by_formula == 235_146  # witness: formula-matches
assert mnist_without_bias == count_by_hand([784, 256, 128, 10], bias=False) == 234_752
transposed = swapped[0].weight.T.shape == design[0].weight.shape
assert transposed and swapped_count == without_bias == 104  # witness: swap-cancels
assert with_bias_change == 10 - 8  # witness: swap-with-bias-changes
cannot_multiply = forward_error.startswith("mat1 and mat2 shapes cannot be multiplied")
assert cannot_multiply and "(2x10 and 8x10)" in forward_error  # witness: swap-raises

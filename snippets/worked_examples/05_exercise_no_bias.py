"""Exercise: the same stack without biases, and a counter for any stack of linear layers."""

from itertools import pairwise

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

assert without_bias == count_by_hand([10, 8, 3], bias=False) == 104
assert mnist_mlp == by_formula == 235_146  # witness: formula-matches
assert mnist_without_bias == count_by_hand([784, 256, 128, 10], bias=False) == 234_752

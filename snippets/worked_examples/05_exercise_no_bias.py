"""Exercise: no bias in the first layer, and a counter for any stack of linear layers."""

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


first_without_bias = count(nn.Sequential(nn.Linear(10, 8, bias=False), nn.ReLU(), nn.Linear(8, 3)))
by_formula = count_by_hand([784, 256, 128, 10])
mnist_mlp = count(linear_stack([784, 256, 128, 10]))
mnist_without_bias = count(linear_stack([784, 256, 128, 10], bias=False))
print("Linear(10, 8, bias=False) -> ReLU -> Linear(8, 3):", first_without_bias)
print("784 -> 256 -> 128 -> 10 with biases, by the formula:", by_formula, " by PyTorch:", mnist_mlp)
print("  without biases, by PyTorch:", mnist_without_bias)

assert first_without_bias == 10 * 8 + 8 * 3 + 3 == 107
assert mnist_mlp == by_formula == 235_146  # witness: formula-matches
assert mnist_without_bias == count_by_hand([784, 256, 128, 10], bias=False) == 234_752

"""Exercise: find the classifier's input size after a conv stack with a meta probe, not lazily."""

import torch
from torch import nn


def make_features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 16, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )


def flat_size(image_shape: tuple[int, int, int]) -> int:
    """Run the feature stack on meta tensors: shapes are computed, no arithmetic is done."""
    with torch.device("meta"):
        return make_features()(torch.empty(1, *image_shape)).shape[1]


in_features = flat_size((3, 32, 32))
model = nn.Sequential(make_features(), nn.Linear(in_features, 10))  # an ordinary, eager model
print(f"flattened features for a 3x32x32 image: {in_features}")
print(model[1])

# The lazy way finds the same number, but only after a dry run on real data.
lazy = nn.Sequential(make_features(), nn.LazyLinear(10))
lazy(torch.zeros(1, 3, 32, 32))
lazy_in_features = lazy[1].in_features
# conv 5x5 loses 4, pool halves, conv 3x3 loses 2, pool halves
by_hand = 32 * (((32 - 4) // 2 - 2) // 2) ** 2
print(f"LazyLinear found {lazy_in_features}; by hand 32 x 6 x 6 = {by_hand}")

assert in_features == lazy_in_features == by_hand == 1152  # witness: meta-probe-size
assert type(model[1]) is nn.Linear and model[1].in_features == 1152  # witness: eager-from-start

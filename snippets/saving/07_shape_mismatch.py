"""A shape mismatch is an error even with strict=False; drop those entries on purpose instead."""

import torch
from torch import nn


def make_classifier(n_classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, n_classes))


torch.manual_seed(0)
pretrained_classes, new_classes = 10, 5
pretrained = make_classifier(n_classes=pretrained_classes).state_dict()
model = make_classifier(n_classes=new_classes)  # same layers, a smaller output layer

mismatch_message = "no error"
try:
    model.load_state_dict(pretrained, strict=False)
except RuntimeError as error:
    mismatch_message = str(error)
    print(f"{type(error).__name__}: {mismatch_message.splitlines()[0]}")
    for line in mismatch_message.splitlines()[1:]:
        print("   ", line.strip())

# Keep only the entries whose shapes fit, and say which ones were dropped.
own = model.state_dict()
fitting = {
    key: value for key, value in pretrained.items() if key in own and value.shape == own[key].shape
}
dropped = sorted(set(pretrained) - set(fitting))
result = model.load_state_dict(fitting, strict=False)
print("dropped from the checkpoint:", dropped)
print("left as initialized:        ", result.missing_keys)

# A lazy module that has not run yet has no shapes to compare: it takes whatever it is given.
lazy = nn.LazyLinear(3)
lazy.load_state_dict({"weight": torch.randn(5, 7), "bias": torch.randn(9)})
print("LazyLinear(3) after loading a (5, 7) weight and a (9,) bias:", end=" ")
print(tuple(lazy.weight.shape), tuple(lazy.bias.shape))
lazy_norm = nn.LazyBatchNorm1d()  # uninitialized buffers too: running statistics of any shape
statistics = {"running_mean": torch.zeros(9), "running_var": torch.ones(2)}
lazy_norm.load_state_dict(statistics, strict=False)
statistic_shapes = [tuple(lazy_norm.running_mean.shape), tuple(lazy_norm.running_var.shape)]
print("nn.LazyBatchNorm1d() not yet run, running statistics after loading:", statistic_shapes)

# Files from PyTorch 0.3 stored a 0-dim value as a tensor of shape (1,); a 0-dim parameter or
# buffer takes it.
scalar = nn.Module()
scalar.scale = nn.Parameter(torch.tensor(1.0))
scalar.register_buffer("count", torch.tensor(0))
scalar.load_state_dict({"scale": torch.tensor([5.0]), "count": torch.tensor([7])})
print("0-dim parameter and buffer after loading shape (1,):", scalar.scale.detach(), scalar.count)

assert mismatch_message.startswith("Error(s) in loading state_dict")  # witness: shape-error
assert "size mismatch for 2.weight" in mismatch_message
entries = [line.strip().split(":")[0] for line in mismatch_message.splitlines()[1:]]
one_line_each = entries == ["size mismatch for 2.weight", "size mismatch for 2.bias"]
assert one_line_each  # witness: one-line-per-entry
dropped_count = len(dropped)
assert dropped == ["2.bias", "2.weight"] and sorted(result.missing_keys) == dropped  # witness: rest
assert result.unexpected_keys == [] and torch.equal(model[0].weight, pretrained["0.weight"])
lazy_any_shape = lazy.weight.shape == (5, 7) and lazy.bias.shape == (9,)
lazy_any_shape &= statistic_shapes == [(9,), (2,)]
assert lazy_any_shape  # witness: lazy-takes-any-shape
zero_dim = scalar.scale.shape == scalar.count.shape == ()
assert zero_dim and scalar.scale == 5 and scalar.count == 7  # witness: zero-dim-takes-one-element

"""Exercise: a layer that silently ignores its last input feature passes check_module. A stricter
input-gradient check, per feature, catches it.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module, default_grad_rtol
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class FirstFeatures(nn.Module):
    """Meant to use all `in_features`, but an off-by-one slice drops the last one."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features - 1, out_features)  # the bug, and the slice below

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, :-1])


class RoundedLastFeature(nn.Module):
    """Uses its last feature only through torch.round, whose slope is zero wherever defined."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features - 1, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, :-1]) + torch.round(x[:, -1:])


class DetachedLastFeature(nn.Module):
    """Uses its last feature, scaled by 2, through detach(): autograd does not record that path."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features - 1, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, :-1]) + 2.0 * x[:, -1:].detach()


class ShiftedLogits(nn.Module):
    """Adds its last feature to every logit before a softmax, which ignores such a common shift."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features - 1, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear(x[:, :-1]) + x[:, -1:], dim=-1)


class ZeroBackward(torch.autograd.Function):
    """Doubles its input, with a hand-written backward that returns zero for it."""

    @staticmethod
    def forward(ctx, v: torch.Tensor) -> torch.Tensor:
        return 2 * v

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(grad)


class NoneBackward(ZeroBackward):
    """The same, with a backward that returns None for its input."""

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> None:
        return None


class LastFeatureThrough(nn.Module):
    """Adds its last feature to the output only through `use`."""

    def __init__(self, use) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.use = use

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, :-1]) + self.use(x[:, -1:])


def feature_totals(module: nn.Module, input_shape: tuple[int, int]) -> torch.Tensor:
    """The input gradient's absolute values, summed over a random batch: one number per feature."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(input_shape, generator=generator).to(device).requires_grad_()
    output = module(x)
    (output * torch.randn(output.shape, generator=generator).to(device)).sum().backward()
    return x.grad.abs().sum(dim=0)


def unused_features(module: nn.Module, input_shape: tuple[int, int]) -> list[int]:
    """Indices of features whose total is zero or rounding noise next to the largest one."""
    totals = feature_totals(module, input_shape)
    threshold = default_grad_rtol(totals.dtype) * float(totals.max())  # as check_module does
    return [i for i, value in enumerate(totals.tolist()) if value <= threshold]


torch.manual_seed(0)
buggy = FirstFeatures(5, 3).to(device)
report = check_module(buggy, input_shape=(4, 5), expected_output_shape=(4, 3))
checks_passed = len(report.checks)
print(f"check_module: {checks_passed} checks passed")
unused_buggy = unused_features(buggy, (4, 5))
unused_linear = unused_features(nn.Linear(5, 3).to(device), (4, 5))
print("features FirstFeatures ignores:", unused_buggy, " nn.Linear ignores:", unused_linear)

# Zero slope is not the same as no influence: a feature used only through round (or sign, a
# comparison, argmax, ReLU units off for the whole batch) gets zero gradient too.
rounded = RoundedLastFeature(5, 3).to(device)
zero_slope = unused_features(rounded, (4, 5))
x = torch.randn(4, 5).to(device)
shifted = x.clone()
shifted[:, -1] += 1.0  # the last feature only
with torch.no_grad():
    last_changes_output = not torch.equal(rounded(x), rounded(shifted))
print("zero gradient for RoundedLastFeature:", zero_slope, " output changes:", last_changes_output)
# A feature the layer ignores need not give exactly zero: its true slope is zero, and the
# computed one can be rounding noise, which the threshold flags too.
ignoring = ShiftedLogits(5, 3).to(device)
ignored_total = float(feature_totals(ignoring, (4, 5))[-1])
ignored = unused_features(ignoring, (4, 5))
with torch.no_grad():
    ignored_change = float((ignoring(shifted) - ignoring(x)).abs().max())
print(f"ShiftedLogits: total {ignored_total:.1e} for the last feature (noise: varies by machine),")
print(f"  flagged: {ignored}")
print(f"  largest output change when the last feature grows by 1: {ignored_change:.1e}")
# A real but tiny slope is flagged too: here the weights on the last feature are scaled by 1e-6.
tiny = nn.Linear(5, 3).to(device)
scale = 1e-6
with torch.no_grad():
    tiny.weight[:, -1] *= scale
tiny_flagged = unused_features(tiny, (4, 5))
tiny_weights = ", ".join(f"{w:.1e}" for w in tiny.weight[:, -1].tolist())
print(f"weights on the last feature scaled by {scale}: {tiny_weights}  flagged: {tiny_flagged}")
# A path autograd does not record (.data, detach(), a custom backward) gives zero too, although
# the true slope is not zero: here a finite difference in the last feature finds a slope of 2.
detached = DetachedLastFeature(5, 3).to(device)
unrecorded = unused_features(detached, (4, 5))
step = 1e-2
with torch.no_grad():
    nudged = x.clone()
    nudged[:, -1] += step
    slope = ((detached(nudged) - detached(x)) / step).mean().item()
print(f"zero gradient for DetachedLastFeature: {unrecorded}  finite-difference slope: {slope:.2f}")
# Other paths with zero slope, and other unrecorded ones: the last feature's total, for each.
zero_slope_uses = {
    "sign": torch.sign,
    "a comparison": lambda v: (v > 0).float(),
    "argmax": lambda v: v.argmax(dim=0, keepdim=True).float(),
    "ReLU off": lambda v: torch.relu(v - 100.0),  # off for every example of the batch
}
unrecorded_uses = {
    ".data": lambda v: v.data,
    "a backward giving zero": ZeroBackward.apply,
    "a backward giving None": NoneBackward.apply,
}
through = {}
for what, use in {**zero_slope_uses, **unrecorded_uses}.items():
    through[what] = float(feature_totals(LastFeatureThrough(use).to(device), (4, 5))[-1])
print("last feature's total through", ", ".join(f"{k}: {v}" for k, v in through.items()))
# A comparison and argmax give bool and integer outputs, which autograd does not record at all.
probe = torch.ones(3, device=device, requires_grad=True)
no_graph = (probe > 0).grad_fn is None and probe.argmax().grad_fn is None

assert checks_passed == 5  # witness: passes-all-checks
# Sliced away, rounded or detached, the last feature gets an exact zero, not just a flag.
buggy_zero, rounded_zero, detached_zero = (
    float(feature_totals(m, (4, 5))[-1]) == 0.0 for m in (buggy, rounded, detached)
)
unused_exactly = unused_buggy == [4] and unused_linear == [] and buggy_zero
assert unused_exactly  # witness: last-feature-unused
assert zero_slope == [4] and rounded_zero and last_changes_output  # witness: zero-slope-still-used
assert ignored == [4] and ignored_change < 1e-6  # witness: ignored-feature-flagged
if device.type == "cpu":
    assert ignored_total > 0.0  # witness: ignored-not-exactly-zero
assert tiny_flagged == [4] and bool(tiny.weight[:, -1].ne(0).all())  # witness: tiny-slope-flagged
unrecorded_zero = unrecorded == [4] and detached_zero
assert unrecorded_zero and abs(slope - 2.0) < 1e-2  # witness: unrecorded-path-zero
other_zero_slopes = rounded_zero and all(through[what] == 0.0 for what in zero_slope_uses)
assert other_zero_slopes  # witness: zero-slope-paths
assert no_graph and probe.requires_grad  # witness: comparison-argmax-no-graph
other_unrecorded = detached_zero and all(through[what] == 0.0 for what in unrecorded_uses)
assert other_unrecorded  # witness: unrecorded-paths

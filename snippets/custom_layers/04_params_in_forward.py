"""Parameters belong in __init__: created in forward, they are new each call and never trained."""

import torch
from torch import nn


class ForgetfulLinear(nn.Module):
    """The mistake: the weight is created inside forward, once the input width is known."""

    def __init__(self, out_features: int) -> None:
        super().__init__()
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.weight = nn.Parameter(
            torch.randn(self.out_features, x.shape[-1])
        )  # a new one every call
        return x @ self.weight.T


torch.manual_seed(0)
layer = ForgetfulLinear(3)

# Before the first call there is nothing to optimize.
parameters_before_call = len(list(layer.parameters()))
try:
    torch.optim.SGD(layer.parameters(), lr=0.1)
except ValueError as error:
    empty_message = str(error)
    print(
        f"before any call: {parameters_before_call} parameter tensors; "
        f"{type(error).__name__}: {empty_message}"
    )

# The same input twice gives two different answers.
x = torch.ones(2, 5)
first_output = layer(x)
first_weight = layer.weight
same_answer_twice = torch.equal(first_output, layer(x))
new_weight_each_call = layer.weight is not first_weight
print("same input, same output:", same_answer_twice, " new weight:", new_weight_each_call)

# An optimizer created now holds a weight that the next forward throws away.
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
tracked = optimizer.param_groups[0]["params"][0]
tracked_before = tracked.detach().clone()
target = torch.zeros(2, 3)
losses = []
for _ in range(5):
    loss = (layer(x) - target).pow(2).mean()
    losses.append(round(loss.item(), 2))
    optimizer.zero_grad()
    loss.backward()  # the gradient goes to this call's weight, which the optimizer does not hold
    optimizer.step()
optimizer_sees_current_weight = tracked is layer.weight
tracked_no_grad = tracked.grad is None  # no later call used it, so no backward pass reached it
tracked_unchanged = torch.equal(tracked, tracked_before)  # so every step skipped it
print("optimizer holds the weight forward uses:", optimizer_sees_current_weight)
print("the optimizer's weight has no gradient:", tracked_no_grad, " unchanged:", tracked_unchanged)
print("losses over 5 steps (no trend, just new random weights):", losses)

# The fix when the input width is unknown: nn.LazyLinear registers placeholder parameters when it
# is built and materializes those same objects, with their shapes, at the first call.
# A forward pre-hook does that work, and removes itself after the first call.
lazy = nn.LazyLinear(3)
registered = list(lazy.parameters())
placeholders = all(isinstance(p, nn.parameter.UninitializedParameter) for p in registered)
pre_hooks_before = [hook.__name__ for hook in lazy._forward_pre_hooks.values()]
lazy_first = lazy(x)
pre_hooks_after = [hook.__name__ for hook in lazy._forward_pre_hooks.values()]
materialized_in_place = all(p is q for p, q in zip(registered, lazy.parameters(), strict=True))
lazy_shape, lazy_class = tuple(lazy.weight.shape), type(lazy).__name__
lazy_same_answer = torch.equal(lazy_first, lazy(x))
print("LazyLinear before its first call, placeholders only:", placeholders)
print(
    f"after it: the same objects, weight shape {lazy_shape}, class {lazy_class}; "
    f"same input, same output: {lazy_same_answer}"
)
print(f"its forward pre-hooks before its first call: {pre_hooks_before}, after: {pre_hooks_after}")


# Drawn with torch.randn, as here, the weight's entries have variance 1, so each output, a sum of
# one product per input, varies over a batch with a variance about the number of inputs times
# the inputs' variance. A mean in the inputs only shifts each output by a constant.
def variance_per_input(inputs: int, mean: float = 0.0) -> float:
    outputs = ForgetfulLinear(64)(torch.randn(256, inputs) + mean)
    return round(outputs.var(dim=0).mean().item() / inputs, 2)  # each output's, over the batch


def mean_square_per_input(inputs: int, mean: float = 0.0) -> float:
    outputs = ForgetfulLinear(64)(torch.randn(256, inputs) + mean)
    return round(outputs.pow(2).mean().item() / inputs, 2)  # how large the outputs are


variances = {inputs: variance_per_input(inputs) for inputs in (100, 400)}
shifted = variance_per_input(400, mean=2.0)
print("each output's variance / number of inputs, for 100 and 400 inputs:", variances)
print("the same for 400 inputs of mean 2:", shifted)
squares = {mean: mean_square_per_input(400, mean) for mean in (0.0, 2.0)}
print("mean square of the outputs / number of inputs, for input means 0 and 2:", squares)
# Why: with one weight W, adding 2 to every input adds 2 * (row sum of W) to each output, the same
# for every example of the batch and different from output to output.
W, centred = torch.randn(64, 400), torch.randn(256, 400)
shift = (centred + 2.0) @ W.T - centred @ W.T
shift_per_output = torch.allclose(shift, shift[:1].expand_as(shift), atol=1e-2)
distinct_shifts = shift[0].unique().numel()
print(f"the shift: the same across the batch {shift_per_output}, {distinct_shifts} distinct values")

assert parameters_before_call == 0 and "empty parameter list" in empty_message  # witness: no-params
assert not same_answer_twice and new_weight_each_call  # witness: new-weight-each-call
assert not optimizer_sees_current_weight  # witness: optimizer-holds-stale
assert tracked_no_grad and tracked_unchanged  # witness: stale-never-updated
assert placeholders  # witness: lazy-placeholders
assert pre_hooks_before == ["_infer_parameters"] and not pre_hooks_after  # witness: lazy-pre-hook
assert materialized_in_place and lazy_shape == (3, 5) and lazy_same_answer  # witness: lazy-kept
assert type(lazy) is nn.Linear  # witness: lazy-becomes-linear
about_the_count = all(0.9 < v < 1.1 for v in (*variances.values(), shifted))
assert about_the_count  # witness: randn-variance-grows
shifted_larger = shift_per_output and distinct_shifts == 64 and squares[2.0] > 2 * squares[0.0]
assert shifted_larger  # witness: mean-makes-outputs-larger

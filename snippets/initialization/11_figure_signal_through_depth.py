# guide: figure=signal_through_depth.svg
"""The spread of activations and gradients, layer by layer, through 30 Linear+ReLU layers
initialized three ways: PyTorch's default, Xavier and Kaiming."""

import math

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

depth, width, batch = 30, 256, 128
schemes = {
    "default": None,  # what nn.Linear draws itself
    "xavier_uniform_": nn.init.xavier_uniform_,
    "kaiming_normal_(relu)": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}

torch.manual_seed(0)
x = torch.randn(batch, width).to(device)
upstream = torch.randn(batch, width).to(device)  # the gradient that arrives at the last layer
forward_std, backward_std = {}, {}
xavier_variance = 0.0  # the weights' variance with xavier_uniform_, over all layers
for name, init_weight in schemes.items():
    torch.manual_seed(1)
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.zeros_(linear.bias)  # compare the weights alone
        if init_weight is not None:
            init_weight(linear.weight)
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers).to(device)
    if name == "xavier_uniform_":
        xavier_variance = torch.stack([layer.weight.var() for layer in model[::2]]).mean().item()
    outputs = []  # the output of each Linear+ReLU layer
    h = x
    for k in range(0, len(model), 2):
        h = model[k + 1](model[k](h))
        h.retain_grad()  # keep the gradient autograd computes for this intermediate tensor
        outputs.append(h)
    h.backward(upstream)
    forward_std[name] = [out.std().item() for out in outputs]
    backward_std[name] = [out.grad.std().item() for out in outputs]

# Each layer divides the spread by its own factor; the factor per layer is their geometric mean.
layer_factors = {
    name: [before / after for before, after in zip(forward_std[name], forward_std[name][1:])]
    for name in schemes
}
shrink = {
    name: (forward_std[name][0] / forward_std[name][-1]) ** (1 / (depth - 1)) for name in schemes
}
# A straight line on the log scale: every layer's factor is close to the mean factor, forward
# and (from layer 30 down to layer 1) backward.
grad_factors = {
    name: [later / earlier for earlier, later in zip(backward_std[name], backward_std[name][1:])]
    for name in schemes
}
grad_shrink = {
    name: (backward_std[name][-1] / backward_std[name][0]) ** (1 / (depth - 1)) for name in schemes
}
lines_straight = all(
    0.8 < factor / mean < 1.25
    for factors, means in ((layer_factors, shrink), (grad_factors, grad_shrink))
    for name, mean in means.items()
    for factor in factors[name]
)
default_factor, xavier_factor = shrink["default"], shrink["xavier_uniform_"]
default_last = forward_std["default"][-1]
xavier_last = forward_std["xavier_uniform_"][-1]
kaiming_last = forward_std["kaiming_normal_(relu)"][-1]
kaiming_forward = forward_std["kaiming_normal_(relu)"]
kaiming_lowest, kaiming_highest = min(kaiming_forward), max(kaiming_forward)
default_first_grad = backward_std["default"][0]
kaiming_first_grad = backward_std["kaiming_normal_(relu)"][0]

fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.4), sharey=True)
layer_numbers = range(1, depth + 1)
for i, name in enumerate(schemes):
    left.plot(layer_numbers, forward_std[name], color=f"C{i}", marker="o", ms=2.5, label=name)
    right.plot(layer_numbers, backward_std[name], color=f"C{i}", marker="o", ms=2.5)
left.set_title("forward: std of each layer's output", fontsize=10)
right.set_title("backward: std of its gradient", fontsize=10)
for ax in (left, right):
    ax.set_yscale("log")
    ax.set_xlabel("layer", fontsize=9)
    ax.set_xlim(0, depth + 1)
    ax.tick_params(labelsize=8, color="black", labelcolor="black")
    for spine in ax.spines.values():
        spine.set_color("black")
left.set_ylabel("standard deviation (log scale)", fontsize=9)
left.legend(fontsize=8, frameon=False, loc="lower left")
right.text(
    2, 2.5e-1, f"the backward pass runs\nfrom layer {depth} to layer 1", fontsize=8, va="top"
)
fig.tight_layout()
fig.savefig("signal_through_depth.svg", metadata={"Date": None})

print(f"{depth} layers of Linear({width}, {width}) + ReLU, zero biases, a batch of {batch}")
print(
    f"{'init':24} {'std after layer 1':>18} {f'after layer {depth}':>15} {'factor per layer':>17}"
    f"  {'(range)':>11}"
)
for name in schemes:
    first, last = forward_std[name][0], forward_std[name][-1]
    low, high = min(layer_factors[name]), max(layer_factors[name])
    print(f"{name:24} {first:18.3g} {last:15.3g} {shrink[name]:17.2f}  ({low:.2f}-{high:.2f})")
print(f"gradient std at layer {depth} (set by the upstream gradient), then at layer 1:")
for name in schemes:
    print(f"  {name:22} {backward_std[name][-1]:9.3g} {backward_std[name][0]:9.3g}")

assert abs(default_factor - math.sqrt(6)) < 0.1  # witness: default-shrinks-sqrt6
assert abs(xavier_factor - math.sqrt(2)) < 0.05  # witness: xavier-shrinks-sqrt2
assert math.isclose(xavier_variance, 1 / width, rel_tol=0.01)  # witness: xavier-variance
assert all(0.5 < s < 2 for s in forward_std["kaiming_normal_(relu)"])  # witness: kaiming-flat
assert default_last < 1e-10 < 1e-5 < xavier_last < 1e-3
assert all(0.5 < s < 2 for s in backward_std["kaiming_normal_(relu)"])  # witness: kaiming-grad
assert default_first_grad < 1e-10 < 1e-5 < backward_std["xavier_uniform_"][0] < 1e-3
assert all(  # witness: gradient-vanishes-toward-input
    earlier < later
    for name in ("default", "xavier_uniform_")
    for earlier, later in zip(backward_std[name], backward_std[name][1:])
)
assert lines_straight  # witness: lines-straight

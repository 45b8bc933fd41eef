"""Exercise: in a ReLU stack that narrows, which Kaiming mode keeps the gradient's size?"""

import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

widths = [2048, 1024, 512, 256, 128, 64, 32]  # every layer halves the width
depth = len(widths) - 1


def narrowing_stack(mode: str) -> nn.Sequential:
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        linear = nn.Linear(fan_in, fan_out)
        nn.init.zeros_(linear.bias)  # compare the weights alone
        nn.init.kaiming_normal_(linear.weight, mode=mode, nonlinearity="relu")
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers)


def rms(t: torch.Tensor) -> float:
    return t.pow(2).mean().sqrt().item()


torch.manual_seed(0)
x = torch.randn(256, widths[0]).to(device)
upstream = torch.randn(256, widths[-1]).to(device)  # the gradient that arrives at the output
forward_growth, gradient_shrink = {}, {}  # per layer, geometric mean over the stack
print(f"Linear + ReLU, widths {widths}")
for mode in ("fan_in", "fan_out"):
    torch.manual_seed(1)
    model = narrowing_stack(mode).to(device)
    inputs = x.clone().requires_grad_()
    output = model(inputs)
    output.backward(upstream)
    forward_growth[mode] = (rms(output) / rms(x)) ** (1 / depth)
    gradient_shrink[mode] = (rms(upstream) / rms(inputs.grad)) ** (1 / depth)
    print(
        f"mode={mode!r:10} per layer: forward signal x{forward_growth[mode]:.2f}, "
        f"gradient toward the input /{gradient_shrink[mode]:.2f}"
    )
fan_in_shrink = gradient_shrink["fan_in"]
fan_out_growth = forward_growth["fan_out"]

assert abs(fan_in_shrink - math.sqrt(2)) < 0.1  # witness: fan-in-gradient-shrinks
assert 0.9 < forward_growth["fan_in"] < 1.1
assert 0.9 < gradient_shrink["fan_out"] < 1.1  # witness: fan-out-keeps-gradient
assert abs(fan_out_growth - math.sqrt(2)) < 0.1  # witness: fan-out-forward-grows

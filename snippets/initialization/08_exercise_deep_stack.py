"""Exercise: the size of the signal after ten ReLU layers, default init against Kaiming init."""

import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

depth, width = 10, 256


def deep_stack(init_weight=None) -> nn.Sequential:
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.zeros_(linear.bias)  # compare the weights alone
        if init_weight is not None:
            init_weight(linear.weight)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers)


def rms(t: torch.Tensor) -> float:
    return t.pow(2).mean().sqrt().item()


torch.manual_seed(0)
x = torch.randn(512, width).to(device)
default_model = deep_stack().to(device)
kaiming_model = deep_stack(lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")).to(device)

with torch.no_grad():
    default_rms = rms(default_model(x))
    kaiming_rms = rms(kaiming_model(x))
input_rms = rms(x)
shrink_per_layer = (input_rms / default_rms) ** (1 / depth)
predicted_shrink = math.sqrt(6)  # Var(w) = 1 / (3 fan_in), and ReLU halves the second moment

print(f"input rms {input_rms:.3f}")
print(
    f"after {depth} layers: default init rms {default_rms:.2e}, Kaiming init rms {kaiming_rms:.3f}"
)
print(
    f"default init shrinks the signal {shrink_per_layer:.2f}x per layer "
    f"(predicted sqrt(6) = {predicted_shrink:.2f})"
)

assert default_rms < 1e-3 * input_rms  # witness: default-vanishes
assert 0.5 < kaiming_rms / input_rms < 2.0  # witness: kaiming-keeps-size
assert abs(shrink_per_layer - predicted_shrink) < 0.1

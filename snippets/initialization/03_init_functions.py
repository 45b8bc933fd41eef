"""The common torch.nn.init functions, each checked against the distribution it promises."""

import math

import torch
from torch import nn

torch.manual_seed(0)
layer = nn.Linear(256, 64)
fan_in, fan_out = layer.in_features, layer.out_features  # weight shape: (fan_out, fan_in)
weight = layer.weight

# Each function fills the tensor in place and returns it.
returned = nn.init.normal_(layer.weight, mean=0.0, std=0.01)
normal_std = layer.weight.std().item()

nn.init.xavier_uniform_(layer.weight)
xavier_bound = math.sqrt(6 / (fan_in + fan_out))
xavier_max = layer.weight.abs().max().item()

nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # mode="fan_in" by default
kaiming_std = math.sqrt(2 / fan_in)
kaiming_measured = layer.weight.std().item()

# The default nonlinearity="leaky_relu" with its default slope a=0 is ReLU: the same gain, sqrt(2).
default_is_relu = (
    nn.init.calculate_gain("leaky_relu", 0) == nn.init.calculate_gain("relu") == math.sqrt(2)
)
# So the two calls draw the same weights (each from its own generator, seeded alike).
by_default = nn.init.kaiming_normal_(
    torch.empty(64, 256), generator=torch.Generator().manual_seed(1)
)
as_relu = nn.init.kaiming_normal_(
    torch.empty(64, 256), nonlinearity="relu", generator=torch.Generator().manual_seed(1)
)
defaults_agree = torch.equal(by_default, as_relu)

nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
kaiming_fan_out_std = math.sqrt(2 / fan_out)
kaiming_fan_out_measured = layer.weight.std().item()

nn.init.zeros_(layer.bias)
bias_all_zero = bool(torch.all(layer.bias == 0))
nn.init.constant_(layer.bias, 0.1)
bias_all_constant = bool(torch.all(layer.bias == 0.1))

print(f"{'function':38} {'promised':>18} {'measured':>9}")
print(f"{'normal_(std=0.01)':38} {'std 0.0100':>18} {normal_std:9.4f}")
print(f"{'xavier_uniform_':38} {f'bound {xavier_bound:.4f}':>18} {xavier_max:9.4f}")
print(f"{'kaiming_normal_(relu)':38} {f'std {kaiming_std:.4f}':>18} {kaiming_measured:9.4f}")
print(
    f"{'kaiming_normal_(relu, mode=fan_out)':38} {f'std {kaiming_fan_out_std:.4f}':>18} "
    f"{kaiming_fan_out_measured:9.4f}"
)
print(f"zeros_ then constant_(0.1) on the bias: {bias_all_zero} {bias_all_constant}")
# The siblings follow the same pattern (drawn last, so the measurements above are not shifted).
scratch = torch.empty(64, 256)
siblings = (nn.init.uniform_, nn.init.xavier_normal_, nn.init.trunc_normal_, nn.init.orthogonal_)
siblings_in_place = all(init(scratch) is scratch for init in siblings)
print(
    "still the same Parameter, still trainable:",
    isinstance(layer.weight, nn.Parameter),
    layer.weight.requires_grad,
)

assert returned is layer.weight  # witness: fills-in-place-and-returns
assert siblings_in_place  # witness: siblings-in-place
assert math.isclose(normal_std, 0.01, rel_tol=0.02)
assert math.isclose(xavier_bound, math.sqrt(6 / 320))
assert 0.99 * xavier_bound < xavier_max <= xavier_bound
assert math.isclose(kaiming_measured, kaiming_std, rel_tol=0.02)  # witness: kaiming-fan-in-default
assert math.isclose(kaiming_fan_out_measured, kaiming_fan_out_std, rel_tol=0.02)
assert bias_all_zero and bias_all_constant
assert default_is_relu and defaults_agree  # witness: default-is-relu
assert layer.weight is weight and isinstance(weight, nn.Parameter)  # witness: same-parameter
assert layer.weight.requires_grad  # witness: still-requires-grad

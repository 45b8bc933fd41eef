"""The common torch.nn.init functions, each checked against the distribution it promises."""

import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

torch.manual_seed(0)
layer = nn.Linear(256, 64)
fan_in, fan_out = layer.in_features, layer.out_features  # weight shape: (fan_out, fan_in)
weight = layer.weight

# Each function fills the tensor in place and returns it.
memory_before = layer.weight.data_ptr()
returned = nn.init.normal_(layer.weight, mean=0.0, std=0.01)
normal_std = layer.weight.std().item()
same_memory = returned is layer.weight and layer.weight.data_ptr() == memory_before
filled_in_place = same_memory and math.isclose(normal_std, 0.01, rel_tol=0.02)

nn.init.xavier_uniform_(layer.weight)
xavier_bound = math.sqrt(6 / (fan_in + fan_out))
xavier_max = layer.weight.abs().max().item()

nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # mode="fan_in" by default
kaiming_std = math.sqrt(2 / fan_in)
kaiming_measured = layer.weight.std().item()

# The default nonlinearity="leaky_relu" with kaiming's default slope a=0 is ReLU: the same gain.
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
# calculate_gain("leaky_relu") with no slope assumes 0.01, not 0: a gain just below sqrt(2).
gain_no_slope = nn.init.calculate_gain("leaky_relu")
default_slope_gain = math.isclose(gain_no_slope, math.sqrt(2 / (1 + 0.01**2)))

nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
kaiming_fan_out_std = math.sqrt(2 / fan_out)
kaiming_fan_out_measured = layer.weight.std().item()
# For an ordinary convolution (groups=1), fan_out is out_channels * kernel area: 64 * 3 * 3 = 576
# for the weight of Conv2d(16, 64, 3), shape (64, 16, 3, 3). nn.init reads it from the weight's
# shape (dim 0 times kernel area): for a transposed convolution dim 0 is in_channels, and in a
# grouped one each input reaches only out_channels / groups of the outputs it counts.
# Its own generator: the global stream stays put.
conv_weight = torch.empty(64, 16, 3, 3)
conv_generator = torch.Generator().manual_seed(2)
nn.init.kaiming_normal_(conv_weight, mode="fan_out", nonlinearity="relu", generator=conv_generator)
conv_fan_out_std = math.sqrt(2 / (64 * 3 * 3))
conv_fan_out_measured = conv_weight.std().item()
# The weight of ConvTranspose2d(64, 16, 3) has that shape, and from the same seed mode="fan_out"
# draws exactly the same weights for it: it counts 64 * 9 there too, in_channels * kernel area.
transposed = nn.ConvTranspose2d(64, 16, 3)
transposed_generator = torch.Generator().manual_seed(2)
nn.init.kaiming_normal_(
    transposed.weight, mode="fan_out", nonlinearity="relu", generator=transposed_generator
)
transposed_same_draw = torch.equal(transposed.weight, conv_weight)
transposed_measured = transposed.weight.std().item()

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
print(
    f"{'  the same, Conv2d(16, 64, 3) weight':38} {f'std {conv_fan_out_std:.4f}':>18} "
    f"{conv_fan_out_measured:9.4f}"
)
print(
    f"{'  the same, ConvTranspose2d(64, 16, 3)':38} {f'std {conv_fan_out_std:.4f}':>18} "
    f"{transposed_measured:9.4f}"
)
print(f"zeros_ then constant_(0.1) on the bias: {bias_all_zero} {bias_all_constant}")
# The siblings follow the same pattern (drawn last, so the measurements above are not shifted):
# each overwrites a tensor of zeros and returns that tensor.
siblings = (nn.init.uniform_, nn.init.xavier_normal_, nn.init.trunc_normal_, nn.init.orthogonal_)
siblings_in_place = True
for init in siblings:
    scratch = torch.zeros(64, 256)
    siblings_in_place &= init(scratch) is scratch and bool(scratch.ne(0).any())
# And so does every public function whose name ends in "_". Called on a Parameter, with gradient
# recording on, each returns the Parameter and writes into its memory. The write is not recorded
# (the Parameter stays a leaf with no grad_fn), yet it raises the version counter, as a write into
# the tensor itself does and one through .data does not.
init_names = [name for name in dir(nn.init) if name.endswith("_") and not name.startswith("_")]
# _version is private: read here only to show the counter that autograd's checks use.
every_init_in_place = every_init_unrecorded = torch.is_grad_enabled()
for name in init_names:
    options = {"constant_": {"val": 0.3}, "sparse_": {"sparsity": 0.5}}.get(name, {})
    param = nn.Parameter(torch.zeros(4, 6, 3) if name == "dirac_" else torch.zeros(4, 6))
    memory, version = param.data_ptr(), param._version
    returned_param = getattr(nn.init, name)(param, **options)
    every_init_in_place &= returned_param is param and param.data_ptr() == memory
    every_init_unrecorded &= param.is_leaf and param.grad_fn is None and param._version > version
# orthogonal_ runs a QR decomposition, which has no float16/bfloat16 kernel on the CPU, and writes
# through view_as, which fails on a weight whose memory is not laid out as one matrix: a
# channels_last 3x3 convolution weight with several input channels.
orthogonal_errors = []
for tensor in (
    torch.empty(8, 8, dtype=torch.float16),
    torch.empty(8, 8, dtype=torch.bfloat16),
    nn.Conv2d(4, 8, 3).to(memory_format=torch.channels_last).weight,
):
    try:
        nn.init.orthogonal_(tensor)
    except (NotImplementedError, RuntimeError) as error:
        orthogonal_errors.append(f"{type(error).__name__}: {str(error).split(' (')[0]}")
print("orthogonal_ on float16, bfloat16, channels_last:", *orthogonal_errors, sep="\n  ")
# trunc_normal_'s cut-offs a=-2, b=2 are values, not multiples of std: with std=0.02 nothing is cut.
# From the same seed it draws exactly the numbers that cut-offs a million away draw, which cut
# nothing. In torch 2.13, cut-offs at 4 std (+-0.08) redraw the few numbers beyond them; 2.11's
# method rescales every draw. At +-std, all lie within 0.02.


def trunc_normal(**cut_offs: float) -> torch.Tensor:
    """10,000 numbers with std 0.02, from a generator of their own (the global stream stays put)."""
    generator = torch.Generator().manual_seed(0)
    return nn.init.trunc_normal_(torch.empty(10_000), std=0.02, generator=generator, **cut_offs)


uncut = trunc_normal()
as_if_uncut = torch.equal(uncut, trunc_normal(a=-1e6, b=1e6))
four_std_differs = not torch.equal(uncut, trunc_normal(a=-0.08, b=0.08))
cut = trunc_normal(a=-0.02, b=0.02)
uncut_std, cut_std = uncut.std().item(), cut.std().item()
trunc_uses_values = as_if_uncut and four_std_differs and math.isclose(uncut_std, 0.02, rel_tol=0.03)
trunc_uses_values &= bool(cut.abs().max() <= 0.02)
print(f"trunc_normal_(std=0.02): std {uncut_std:.4f}, as with a=-1e6, b=1e6: {as_if_uncut};")
print(f"  with a=-0.02, b=0.02: std {cut_std:.4f}")

print(
    "still the same Parameter, still trainable:",
    isinstance(layer.weight, nn.Parameter),
    layer.weight.requires_grad,
)

# Initialized before weight_norm is added: the layer computes those values, up to rounding, but
# a row of zeros has no direction (at the default dim=0), and weight_norm computes it as nan.
plain = nn.Linear(4, 3)
nn.init.kaiming_normal_(plain.weight)
with torch.no_grad():
    plain.weight[0] = 0.0
initialized = plain.weight.detach().clone()
computed = weight_norm(plain).weight
keeps_initialized = torch.allclose(computed[1:], initialized[1:])
keeps_initialized = keeps_initialized and computed[0].isnan().all().item()
print("initialized, then weight_norm: other rows kept, zero row nan:", keeps_initialized)
# On a parametrized layer, layer.weight is computed from the stored tensors on every access. With
# weight_norm that is a new tensor: it is not a Parameter, and nn.init writes into a temporary
# result. Nothing changes, no error.
normed = weight_norm(nn.Linear(4, 3))
stored_before = [p.detach().clone() for p in normed.parameters()]
nn.init.zeros_(normed.weight)
parametrized_unchanged = not isinstance(normed.weight, nn.Parameter) and all(
    torch.equal(p, q) for p, q in zip(normed.parameters(), stored_before)
)
parametrized_unchanged &= bool(normed.weight.ne(0).any())
print("weight_norm layer: zeros_(layer.weight) changed nothing:", parametrized_unchanged)
# Inside parametrize.cached(), layer.weight is computed once and kept until the block ends: the
# write seems to work there, but it went into the cached copy, which is dropped at the end.
with parametrize.cached():
    nn.init.zeros_(normed.weight)
    zero_while_cached = bool(torch.all(normed.weight == 0))
cached_write_lost = zero_while_cached and all(
    torch.equal(p, q) for p, q in zip(normed.parameters(), stored_before)
)
cached_write_lost &= bool(normed.weight.ne(0).any())
print("  inside parametrize.cached(): zeros while cached, lost after:", cached_write_lost)
# Assigning to layer.weight goes through the parametrization's right_inverse, which weight_norm has:
# it stores the values and their row norms, and the layer computes values * norm / ||values||,
# the values assigned, as long as no row is all zeros (a zero row gives 0 / 0: nan).
wanted = torch.full((3, 4), 0.5)
normed.weight = wanted
assigned_through_inverse = torch.allclose(normed.weight, wanted)
one_zero_row = wanted.clone()
one_zero_row[0] = 0
normed.weight = one_zero_row
zero_rows_nan = bool(normed.weight[0].isnan().all()) and torch.allclose(
    normed.weight[1:], wanted[1:]
)
print("  layer.weight = values: the layer computes them:", assigned_through_inverse, end="")
print("; a row of zeros comes back as nan, the others as assigned:", zero_rows_nan)


# A parametrization that returns a view of the stored tensor (here its transpose) computes no new
# tensor: nn.init writes through the view into the stored parameter.
class Transposed(nn.Module):
    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored.T


viewed = nn.Linear(4, 4)
parametrize.register_parametrization(viewed, "weight", Transposed())
nn.init.zeros_(viewed.weight)
view_written_through = bool(torch.all(viewed.parametrizations.weight.original == 0))
print("transposed view: zeros_(layer.weight) zeroed the stored weight:", view_written_through)

all_fill_in_place = filled_in_place and every_init_in_place and len(init_names) >= 14
assert all_fill_in_place  # witness: fills-in-place-and-returns
assert every_init_unrecorded  # witness: every-init-unrecorded
assert siblings_in_place  # witness: siblings-in-place
assert (
    len(orthogonal_errors) == 3
    and all(error.startswith("NotImplementedError") for error in orthogonal_errors[:2])
    and orthogonal_errors[2].startswith("RuntimeError: view size is not compatible")
)  # witness: orthogonal-needs-float-matrix
assert parametrized_unchanged  # witness: parametrized-weight-untouched
assert cached_write_lost  # witness: cached-write-lost
assert view_written_through  # witness: view-parametrization-written-through
assert assigned_through_inverse and zero_rows_nan  # witness: assign-through-right-inverse
assert keeps_initialized  # witness: weight-norm-keeps-initialized
assert trunc_uses_values  # witness: trunc-cut-offs-are-values
assert math.isclose(xavier_bound, math.sqrt(6 / 320))
assert 0.99 * xavier_bound < xavier_max <= xavier_bound
assert math.isclose(kaiming_measured, kaiming_std, rel_tol=0.02)  # witness: kaiming-fan-in-default
fan_out_std_matches = math.isclose(kaiming_fan_out_measured, kaiming_fan_out_std, rel_tol=0.02)
conv_fan_out_matches = math.isclose(conv_fan_out_measured, conv_fan_out_std, rel_tol=0.05)
fan_out_rule = fan_out_std_matches and fan_out != fan_in and conv_fan_out_matches
assert fan_out_rule  # witness: kaiming-fan-out
same_count = transposed.in_channels == 64 and transposed_same_draw and conv_fan_out_matches
assert same_count  # witness: transposed-fan-out
assert bias_all_zero and bias_all_constant
assert default_is_relu and defaults_agree  # witness: default-is-relu
assert default_slope_gain  # witness: gain-default-slope
assert layer.weight is weight and isinstance(weight, nn.Parameter)  # witness: same-parameter
assert layer.weight.requires_grad  # witness: still-requires-grad

"""Other layers, other defaults: convolutions, embeddings and normalization layers."""

import math

import torch
from torch import nn

torch.manual_seed(0)

# A convolution's fan_in counts every input one output sees:
# (in_channels / groups) * kernel height * kernel width, the product of weight.shape[1:].
conv = nn.Conv2d(3, 16, kernel_size=3)
conv_fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
conv_bound = 1 / math.sqrt(conv_fan_in)
conv_max = conv.weight.abs().max().item()
conv_bias_max = conv.bias.abs().max().item()
print(
    f"Conv2d(3, 16, 3):   fan_in {conv_fan_in}, bound {conv_bound:.4f}, "
    f"largest |weight| {conv_max:.4f}, largest |bias| {conv_bias_max:.4f}"
)
# The rule itself: reseeded, uniform_(-bound, bound) draws exactly the weight, then the bias.
torch.manual_seed(0)
uniform_weight = torch.empty(16, 3, 3, 3).uniform_(-conv_bound, conv_bound)
uniform_bias = torch.empty(16).uniform_(-conv_bound, conv_bound)
conv_weight_uniform = torch.equal(conv.weight, uniform_weight)
conv_bias_uniform = torch.equal(conv.bias, uniform_bias)
print("uniform_(-bound, bound) replays weight and bias:", conv_weight_uniform, conv_bias_uniform)

# The constructor draws through reset_parameters: reseeding and calling it gives the same values.
drawn_at_construction = conv.weight.detach().clone()
torch.manual_seed(0)
conv.reset_parameters()
constructor_calls_reset = torch.equal(conv.weight, drawn_at_construction)
print("reset_parameters() with the same seed redraws the same weight:", constructor_calls_reset)

# With groups, each output sees only its group's channels: here 4 / 4 = 1 channel.
grouped = nn.Conv2d(4, 8, kernel_size=3, groups=4)
grouped_fan_in = (
    grouped.in_channels // grouped.groups * grouped.kernel_size[0] * grouped.kernel_size[1]
)
grouped_bound = 1 / math.sqrt(grouped_fan_in)
grouped_max = grouped.weight.abs().max().item()
print(
    f"Conv2d(4, 8, 3, groups=4): fan_in {grouped_fan_in}, bound {grouped_bound:.4f}, "
    f"largest |weight| {grouped_max:.4f}"
)

# A transposed convolution stores its weight as (in_channels, out_channels / groups, kh, kw), and
# the rule reads weight.shape[1:]: there fan_in counts out_channels / groups, not in_channels.
with torch.random.fork_rng(devices=[]):  # the draws below stay those of the stream above
    before_transposed = torch.get_rng_state()
    transposed = nn.ConvTranspose2d(64, 16, kernel_size=3)
    transposed_fan_in = math.prod(transposed.weight.shape[1:])
    transposed_bound = 1 / math.sqrt(transposed_fan_in)
    torch.set_rng_state(before_transposed)  # the same rule replays weight and bias exactly
    replayed_weight = torch.empty(64, 16, 3, 3).uniform_(-transposed_bound, transposed_bound)
    replayed_bias = torch.empty(16).uniform_(-transposed_bound, transposed_bound)
transposed_replayed = torch.equal(transposed.weight, replayed_weight)
transposed_replayed = transposed_replayed and torch.equal(transposed.bias, replayed_bias)
transposed_max = transposed.weight.abs().max().item()
print(
    f"ConvTranspose2d(64, 16, 3): fan_in {transposed_fan_in}, bound {transposed_bound:.4f}, "
    f"largest |weight| {transposed_max:.4f}"
)
# Yet one of its outputs reads in_channels * kernel area inputs: count those its gradient reaches.
probe = torch.zeros(1, 64, 5, 5, requires_grad=True)
transposed(probe)[0, 0, 3, 3].backward()  # an output away from the edges (stride 1)
transposed_inputs_read = int((probe.grad != 0).sum())
print(f"  inputs that one of its outputs reads: {transposed_inputs_read}")

# An embedding table is drawn from a standard normal distribution: no fan_in scaling at all.
# Replaying the random stream shows it: the table holds exactly what torch.randn draws.
stream_before = torch.get_rng_state()
embedding = nn.Embedding(1000, 64)
embedding_std = embedding.weight.std().item()
torch.set_rng_state(stream_before)
embedding_is_randn = torch.equal(embedding.weight, torch.randn(1000, 64))
print(f"Embedding(1000, 64): weight std {embedding_std:.3f}")
print("the same stream replayed through torch.randn gives the same table:", embedding_is_randn)

# Normalization layers start with scale 1 and shift 0: at first they only normalize.
layer_norm = nn.LayerNorm(64)
batch_norm = nn.BatchNorm1d(64)
starts_as_identity = all(
    torch.all(norm.weight == 1) and torch.all(norm.bias == 0) for norm in (layer_norm, batch_norm)
)
print("LayerNorm and BatchNorm1d start with weight 1 and bias 0:", starts_as_identity)
x = torch.randn(8, 64)
only_normalizes = torch.allclose(layer_norm(x), nn.functional.layer_norm(x, (64,))) and (
    torch.allclose(batch_norm(x), nn.functional.batch_norm(x, None, None, training=True))
)
print("both outputs equal plain normalization, without scale and shift:", only_normalizes)
# That is in training mode. In eval mode BatchNorm1d uses its running statistics, which start at
# mean 0 and variance 1: a fresh one divides its input by sqrt(1 + eps) and normalizes nothing.
# The factor, 1 - 5e-6 for the default eps = 1e-5, is below allclose's default tolerance, so
# compare with a relative tolerance of 1e-6: it accepts the division and rejects no division.
fresh_eval = nn.BatchNorm1d(64).eval()
eval_out = fresh_eval(x)
eval_passes_through = torch.allclose(
    eval_out, x / math.sqrt(1 + fresh_eval.eps), rtol=1e-6, atol=0
) and not torch.allclose(eval_out, x, rtol=1e-6, atol=0)
print("a fresh BatchNorm1d in eval mode returns x / sqrt(1 + eps):", eval_passes_through)

# One exception in the embedding table: the row at padding_idx, if given, starts at zero.
padded = nn.Embedding(10, 4, padding_idx=0)
padding_row_zero = bool(torch.all(padded.weight[0] == 0))
other_rows_random = bool(torch.all(padded.weight[1:] != 0))
print("Embedding(10, 4, padding_idx=0): row 0 is zero:", padding_row_zero)


# For these layers, reset_parameters() gives back, reseeded, what the constructor drew or set,
# after the values were overwritten (drawn last, so nothing above shifts).
def reset_gives_constructor_values(make) -> bool:
    torch.manual_seed(1)
    layer = make()
    built = [p.detach().clone() for p in layer.parameters()]
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(7.0)
    torch.manual_seed(1)
    layer.reset_parameters()
    return all(torch.equal(p, q) for p, q in zip(layer.parameters(), built))


makers = {"Conv2d": lambda: nn.Conv2d(2, 3, 3), "Linear": lambda: nn.Linear(3, 2)}
makers |= {"Embedding": lambda: nn.Embedding(4, 3)}
makers |= {"LayerNorm": lambda: nn.LayerNorm(3), "BatchNorm1d": lambda: nn.BatchNorm1d(3)}
makers |= {"LSTM": lambda: nn.LSTM(3, 2), "Bilinear": lambda: nn.Bilinear(2, 2, 3)}
resets = {name: reset_gives_constructor_values(make) for name, make in makers.items()}
print("reset_parameters() gives back the constructor's values:")
print(" ", ", ".join(f"{name} {same}" for name, same in resets.items()))

# A lazy layer has no values until its first input tells it in_features (drawn last, so nothing
# above shifts): building it draws nothing, and, reseeded, its first call draws exactly what
# nn.Linear(3, 4) draws.
before_lazy = torch.get_rng_state()
lazy = nn.LazyLinear(4)
waits_for_input = isinstance(lazy.weight, nn.parameter.UninitializedParameter)
waits_for_input &= torch.equal(torch.get_rng_state(), before_lazy)
first_input = torch.randn(2, 3)
torch.manual_seed(2)
lazy(first_input)
torch.manual_seed(2)
eager = nn.Linear(3, 4)
drawn_as_linear = torch.equal(lazy.weight, eager.weight) and torch.equal(lazy.bias, eager.bias)
waits_for_input &= type(lazy.weight) is nn.Parameter and drawn_as_linear
print("LazyLinear(4): no draw until its first input, then Linear(3, 4)'s:", waits_for_input)

assert conv_fan_in == 27 == conv.weight.shape[1:].numel()
conv_rule = conv_weight_uniform and 0.98 * conv_bound < conv_max <= conv_bound
conv_bias_rule = conv_bias_uniform and 0.9 * conv_bound < conv_bias_max <= conv_bound
assert conv_rule  # witness: conv-rule
assert conv_bias_rule  # witness: conv-bias-rule
assert grouped_fan_in == 9 == grouped.weight.shape[1:].numel()
assert 0.9 * grouped_bound < grouped_max <= grouped_bound  # witness: grouped-rule
counts_outputs = transposed_fan_in == 16 * 3 * 3 and transposed.weight.shape[0] == 64
assert counts_outputs and transposed_replayed  # witness: transposed-counts-outputs
assert transposed_inputs_read == 576 == 4 * transposed_fan_in  # witness: transposed-reads-more
assert constructor_calls_reset
assert embedding_is_randn and abs(embedding_std - 1.0) < 0.02  # witness: embedding-normal
assert starts_as_identity  # witness: norm-starts-identity
assert only_normalizes  # witness: norm-only-normalizes
assert eval_passes_through  # witness: eval-mode-passes-through
assert padding_row_zero and other_rows_random  # witness: padding-row-zero
assert all(resets.values())  # witness: reset-parameters-common
assert waits_for_input  # witness: lazy-waits-for-input

"""Dropout in training mode zeroes entries and scales the rest by 1/(1-p); eval() turns it off."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
p = 0.5
dropout = nn.Dropout(p)
x = torch.ones(10_000, device=device)

# Training mode (the default): a fresh random mask on every call.
y = dropout(x)
print("a few outputs in training mode:", y[:8].tolist())
kept_value = 1 / (1 - p)
train_values = sorted(set(y.unique().tolist()))
zero_fraction = (y == 0).float().mean().item()
train_mean = y.mean().item()
train_std = y.std().item()  # the input, all ones, has none: dropout widens the spread
print(f"values: {train_values}, fraction zeroed: {zero_fraction:.3f}", end="")
print(f", mean: {train_mean:.3f}, std: {train_std:.3f}")
two_calls_differ = not torch.equal(dropout(x), dropout(x))
print("two calls give different masks:", two_calls_differ)
# Dropout multiplies by a mask of zeros and 1 / (1 - p): a dropped inf becomes inf * 0 = nan.
infinite = dropout(torch.full((1000,), float("inf"), device=device))
dropped_inf = torch.isnan(infinite)
inf_multiplied = bool(dropped_inf.any() and (dropped_inf | torch.isinf(infinite)).all())
print("inf through dropout gives nan where dropped:", inf_multiplied)
# p is the probability of dropping, not of keeping: with p = 0.2, a fifth become 0, the rest 1.25.
# (With p = 0.5 both readings give the same output.)
low_p = 0.2
low_kept_value = 1 / (1 - low_p)
low_y = nn.Dropout(low_p)(x)
low_values = sorted(set(low_y.unique().tolist()))
low_zero_fraction = (low_y == 0).float().mean().item()
print(f"with p = {low_p}: values {low_values}, fraction zeroed: {low_zero_fraction:.3f}")
ramp = torch.arange(1.0, 101.0, device=device)  # survivors keep their own value, scaled
ramp_out = dropout(ramp)
kept = ramp_out != 0
multiplied = kept.any().item() and torch.equal(ramp_out[kept], ramp[kept] * kept_value)
print("on 1, 2, ..., 100, each survivor is its own value times 1 / (1 - p):", multiplied)

# Evaluation mode: the input comes back unchanged (the very same tensor).
dropout.eval()
eval_is_identity = dropout(x) is x
print("in evaluation mode, dropout(x) is x:", eval_is_identity)

assert kept_value == 2.0 and low_kept_value == 1.25
scaled = train_values == [0.0, kept_value] and low_values == [0.0, low_kept_value] and multiplied
assert scaled  # witness: zero-or-scaled
zeroed_with_p = abs(zero_fraction - p) < 0.05 and abs(low_zero_fraction - low_p) < 0.05
assert zeroed_with_p  # witness: zero-with-probability-p
assert abs(train_mean - 1.0) < 0.1  # witness: mean-kept
assert x.std().item() == 0.0 and train_std > 0.9  # witness: spread-grows
assert inf_multiplied  # witness: multiplies-by-zero
assert two_calls_differ  # witness: new-mask-per-call
assert eval_is_identity  # witness: eval-returns-input

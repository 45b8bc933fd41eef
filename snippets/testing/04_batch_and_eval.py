"""Two bugs no shape or gradient check sees: examples leaking into each other, and dropout left on.

Needs module_check.py in the same folder.
"""

import inspect

import torch
import torch.nn.functional as F
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class BatchCenteredLayer(nn.Module):
    """D2L's CenteredLayer: subtracts the mean of the whole batch, so examples affect each other."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean()


class CenteredLayer(nn.Module):
    """The guide's version: subtracts each example's own mean."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class AlwaysDropout(nn.Module):
    """F.dropout defaults to training=True, so this layer drops values in eval mode too."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5)


class RareDropout(nn.Module):
    """Left on too, but dropping only 1% of values: two passes may both drop the same, or none."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.01)


class ModeAwareDropout(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5, training=self.training)


def failure(module: nn.Module, shape: tuple[int, ...], seed: int = 0) -> str:
    """The message check_module raises for `module`, or "" if every check passes."""
    try:
        # device=: a layer without parameters or buffers would otherwise run on the CPU.
        check_module(module.to(device), shape, shape, device=device, seed=seed)
    except AssertionError as error:
        return str(error)
    return ""


torch.manual_seed(0)
batch_message = failure(BatchCenteredLayer(), (4, 5))
dropout_message = failure(AlwaysDropout(), (4, 5))
print("BatchCenteredLayer ->", batch_message)
print("AlwaysDropout      ->", dropout_message)
# A rare drop is caught only by chance, but the same way every time: the helper seeds the global
# streams it forks, so what ran before the call (here, other global seeds) does not matter.
rare_outcomes = set()
for global_seed in range(8):
    torch.manual_seed(global_seed)
    rare_outcomes.add(failure(RareDropout(), (4, 5)))
rare_failures = [failure(RareDropout(), (4, 5), seed=seed) for seed in range(16)]
rare_caught = [message != "" for message in rare_failures]
eval_checks = ("two forward passes differ", "gives a different output alone")  # checks 4 and 5
by_eval_checks = all(any(c in m for c in eval_checks) for m in rare_failures if m)
print("RareDropout after 8 global seeds ->", rare_outcomes)
print(f"RareDropout caught with {sum(rare_caught)} of the seeds 0..15")
fixed_pass = failure(CenteredLayer(), (4, 5)) == ""
dropout_fixes = all(failure(m, (4, 5)) == "" for m in (ModeAwareDropout(), nn.Dropout(0.5)))
print("CenteredLayer passes:", fixed_pass, " ModeAwareDropout and nn.Dropout pass:", dropout_fixes)
# Passing only says that two eval-mode passes agree; dropout is off: it returns its input as it is.
sample = torch.randn(4, 5).to(device)
dropout_off = all(torch.equal(m.eval()(sample), sample) for m in (ModeAwareDropout(), nn.Dropout()))
print("in eval mode both return their input unchanged:", dropout_off)
# The helper cuts examples along dim 0. A sequence-first layer, (sequence, batch, features), is
# correct and still reported, since dim 0 is its sequence; batch_first=True fits the helper.
sequence_first, batch_first = (
    nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=first)
    for first in (False, True)
)
sequence_first_message = failure(sequence_first, (6, 4, 8))
batch_first_passes = failure(batch_first, (4, 6, 8)) == ""
false_alarm = sequence_first_message.endswith("alone than in a batch of 6")  # 6 = sequence length
# Cut along dim 1, its real batch, the sequence-first layer agrees within the helper's tolerance
# (not bit for bit: a batched kernel may round differently from a single example).
tolerances = {k: inspect.signature(check_module).parameters[k].default for k in ("atol", "rtol")}
x = torch.randn(6, 4, 8).to(device)
sequence_first.eval()
with torch.no_grad():
    batched = sequence_first(x)
    alone_agrees = all(
        torch.allclose(sequence_first(x[:, i : i + 1]), batched[:, i : i + 1], **tolerances)
        for i in range(4)
    )
print("sequence-first TransformerEncoderLayer ->", sequence_first_message)
print("cut along dim 1, each example agrees alone:", alone_agrees, " tolerances:", tolerances)
print("batch_first=True passes:", batch_first_passes)
eval_dropped = bool((AlwaysDropout().eval()(sample) == 0).any()) and bool(sample.all())
print("AlwaysDropout in eval mode zeroes values:", eval_dropped)
f_dropout_default = inspect.signature(F.dropout).parameters["training"].default
print("F.dropout's default for training:", f_dropout_default)

assert batch_message.endswith(  # witness: batch-mean-leaks
    "example 0 gives a different output alone than in a batch of 4"
)
always_on = dropout_message == "AlwaysDropout: two forward passes differ in eval mode"
assert always_on and eval_dropped  # witness: f-dropout-drops-in-eval
assert false_alarm and alone_agrees and batch_first_passes  # witness: sequence-first-false-alarm
assert f_dropout_default is True  # witness: f-dropout-default
assert len(rare_outcomes) == 1  # witness: same-result-every-run
sometimes = any(rare_caught) and not all(rare_caught)
assert sometimes and by_eval_checks  # witness: rare-dropout-by-chance
assert fixed_pass and dropout_fixes  # witness: dropout-fixes
assert dropout_off  # witness: dropout-off

"""BatchNorm's running statistics are buffers: updated by forward passes in train mode only."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
batch = (torch.randn(16, 3) * 2.0 + 5.0).to(device)  # drawn on the CPU: same batch on every device
norm = nn.BatchNorm1d(3).to(device)

parameters_text = ", ".join(name for name, _ in norm.named_parameters())
buffers_text = ", ".join(name for name, _ in norm.named_buffers())
print("parameters:", parameters_text)
print("buffers:   ", buffers_text)
print(
    "start:      running_mean",
    norm.running_mean.tolist(),
    " running_var",
    norm.running_var.tolist(),
)

# One forward pass in train mode. No backward pass, no optimizer, and autograd is off:
# the running statistics change anyway, because the forward pass itself updates them.
with torch.no_grad():
    train_output = norm(batch)
momentum = norm.momentum
expected_mean = (1 - momentum) * 0.0 + momentum * batch.mean(dim=0)
expected_var = (1 - momentum) * 1.0 + momentum * batch.var(dim=0)  # unbiased: divides by n - 1
mean_matches = torch.allclose(norm.running_mean, expected_mean, atol=1e-5)
var_matches = torch.allclose(norm.running_var, expected_var, atol=1e-5)
biased_var = batch.var(dim=0, unbiased=False)  # divides by n: not what the running variance uses
biased_would_match = torch.allclose(
    norm.running_var, (1 - momentum) * 1.0 + momentum * biased_var, atol=1e-5
)
batches_after_train = int(norm.num_batches_tracked)
# The batch itself is normalized with its biased variance (dividing by n).
batch_centered = batch - batch.mean(dim=0)
uses_batch_stats = torch.allclose(
    train_output,
    batch_centered / torch.sqrt(batch.var(dim=0, unbiased=False) + norm.eps),
    atol=1e-5,
)
normalized_with_unbiased = torch.allclose(
    train_output, batch_centered / torch.sqrt(batch.var(dim=0) + norm.eps), atol=1e-5
)
print("train step: running_mean", [round(v, 4) for v in norm.running_mean.tolist()])
print(
    f"matches (1 - {momentum}) * old + {momentum} * batch statistic:", mean_matches and var_matches
)
print("train output uses the batch's own statistics:", uses_batch_stats)

# The same pass in eval mode reads the statistics and leaves them alone.
snapshot = {name: buffer.clone() for name, buffer in norm.named_buffers()}
norm.eval()
with torch.no_grad():
    output = norm(batch)
unchanged_in_eval = all(
    torch.equal(snapshot[name], buffer) for name, buffer in norm.named_buffers()
)
batches_after_eval = int(norm.num_batches_tracked)
uses_running_stats = torch.allclose(
    output, (batch - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps), atol=1e-5
)
print(
    "eval step: buffers unchanged:", unchanged_in_eval, " num_batches_tracked:", batches_after_eval
)
print("eval output uses the running statistics:", uses_running_stats)

state_text = ", ".join(norm.state_dict())
counter_dtype = str(norm.num_batches_tracked.dtype)
print("state_dict():", state_text)
print("num_batches_tracked dtype:", counter_dtype)

# .double() converts floating-point parameters and buffers only; the counter stays an integer.
# The conversion runs on the CPU: MPS has no float64.
norm.cpu().double()
converted_mean_dtype = str(norm.running_mean.dtype)
converted_counter_dtype = str(norm.num_batches_tracked.dtype)
converted_weight_dtype = str(norm.weight.dtype)
print(
    "after .double(): weight",
    converted_weight_dtype,
    " running_mean",
    converted_mean_dtype,
    " num_batches_tracked",
    converted_counter_dtype,
)
via_to = nn.BatchNorm1d(3).to(torch.float64)  # .to(dtype) leaves the counter alone too
via_to_dtypes = (via_to.running_mean.dtype, via_to.num_batches_tracked.dtype)
via_type = nn.BatchNorm1d(3).type(torch.float64)  # Module.type casts every tensor: t.type(dtype)
via_type_dtypes = (via_type.running_mean.dtype, via_type.num_batches_tracked.dtype)
print(
    "after .type(torch.float64): running_mean",
    via_type_dtypes[0],
    " num_batches_tracked",
    via_type_dtypes[1],
)

# Without running statistics: None in their place, nothing saved, always the batch's statistics.
untracked = nn.BatchNorm1d(3, track_running_stats=False).to(device).eval()
untracked_mean_is_none = untracked.running_mean is None and untracked.running_var is None
untracked_state_text = ", ".join(untracked.state_dict())
with torch.no_grad():
    untracked_uses_batch = torch.allclose(
        untracked(batch),
        batch_centered / torch.sqrt(batch.var(dim=0, unbiased=False) + untracked.eps),
        atol=1e-5,
    )
print(
    "track_running_stats=False: running_mean is None:",
    untracked_mean_is_none,
    " state_dict:",
    untracked_state_text,
    " uses the batch's statistics in eval mode:",
    untracked_uses_batch,
)

assert parameters_text == "weight, bias"  # witness: scale-shift-parameters
assert buffers_text == "running_mean, running_var, num_batches_tracked"  # witness: stats-buffers
assert momentum == 0.1 and mean_matches and var_matches  # witness: momentum-update
assert var_matches and not biased_would_match  # witness: running-var-unbiased
assert uses_batch_stats and not normalized_with_unbiased  # witness: train-uses-batch-biased
assert batches_after_train == 1  # witness: counter-counts
assert batches_after_eval == 1 and unchanged_in_eval  # witness: eval-changes-nothing
assert uses_running_stats  # witness: eval-uses-running
assert state_text == "weight, bias, running_mean, running_var, num_batches_tracked"
assert counter_dtype == converted_counter_dtype == "torch.int64"  # witness: counter-stays-int
converted = (converted_weight_dtype, converted_mean_dtype, converted_counter_dtype)
floats_only = converted == ("torch.float64", "torch.float64", "torch.int64")
assert floats_only  # witness: floats-converted
assert via_to_dtypes == (torch.float64, torch.int64)  # witness: to-dtype-skips-int
assert via_type_dtypes == (torch.float64, torch.float64)  # witness: type-converts-all
assert untracked_mean_is_none  # witness: untracked-none
assert untracked_state_text == "weight, bias"  # witness: untracked-state
assert untracked_uses_batch  # witness: untracked-uses-batch

"""BatchNorm normalizes with the batch's statistics and updates its running ones in training mode;
in evaluation mode it uses the running statistics and leaves them alone."""

import contextlib
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

bn = nn.BatchNorm1d(1).to(device)  # one feature; weight 1, bias 0
buffer_names = ", ".join(name for name, _ in bn.named_buffers())
print("buffers:", buffer_names)
initial_statistics = (
    bn.running_mean.item(),
    bn.running_var.item(),
    bn.num_batches_tracked.item(),
)
momentum, eps = bn.momentum, bn.eps  # the defaults: the weight of a new value, a guard against 0
keep = 1 - momentum  # the weight of the old value
print(f"momentum {momentum}, eps {eps}")
x = torch.tensor([[1.0], [2.0], [3.0], [4.0]], device=device)
batch_mean = x.mean().item()
batch_var_biased = x.var(correction=0).item()  # used to normalize this batch
batch_var_unbiased = x.var(correction=1).item()  # used to update the running variance

# Training mode: normalize with the batch statistics, then update the running statistics.
train_out = bn(x)
train_first = train_out[0].item()
expected = (x - batch_mean) / (batch_var_biased + bn.eps) ** 0.5
running_mean = bn.running_mean.item()  # keep * 0 + momentum * 2.5
running_var = bn.running_var.item()  # keep * 1 + momentum * 1.6667
tracked = bn.num_batches_tracked.item()
print(
    "batch mean",
    batch_mean,
    "| variance: biased",
    batch_var_biased,
    "unbiased",
    round(batch_var_unbiased, 4),
)
print("train output:", [round(v, 4) for v in train_out.flatten().tolist()])
print(f"running mean {running_mean:.4f}, running var {running_var:.4f}, batches tracked {tracked}")
# From a running mean that is not 0, the same batch moves it a tenth of the way from 1.0 to 2.5.
moved = nn.BatchNorm1d(1).to(device)
with torch.no_grad():
    moved.running_mean.fill_(1.0)
moved(x)
moved_mean = moved.running_mean.item()  # keep * 1.0 + momentum * 2.5
print(f"the same batch, from a running mean of 1.0: running mean {moved_mean:.4f}")

# Evaluation mode: normalize with the running statistics; they do not change.
bn.eval()
eval_out = bn(x)
eval_expected = (x - running_mean) / (running_var + bn.eps) ** 0.5
eval_first = eval_out[0].item()
print("eval output: ", [round(v, 4) for v in eval_out.flatten().tolist()])
unchanged = (
    bn.running_mean.item() == running_mean
    and bn.running_var.item() == running_var
    and bn.num_batches_tracked.item() == tracked
)
print("running statistics unchanged by the eval pass:", unchanged)

# An optimizer's momentum is the weight of the old value, and the new gradient is added whole:
# SGD's buffer is momentum * buffer + gradient (dampening=0), a decaying sum, not an average.
sgd_buffers = []
for gradients in ((1.0, 0.0), (1.0, 1.0)):
    weight = torch.zeros(1, device=device, requires_grad=True)
    sgd = torch.optim.SGD([weight], lr=1.0, momentum=0.9)
    for gradient in gradients:
        weight.grad = torch.tensor([gradient], device=device)
        sgd.step()
    sgd_buffers.append(sgd.state[weight]["momentum_buffer"].item())
sgd_kept, sgd_summed = sgd_buffers
print(f"SGD(momentum=0.9), buffer after gradients 1 then 0: {sgd_kept:.4f}", end="")
print(f"; after 1 then 1: {sgd_summed:.4f}")

# torch.no_grad() is not a mode switch: in training mode the statistics still move.
under_no_grad = nn.BatchNorm1d(1).to(device)
with torch.no_grad():
    no_grad_out = under_no_grad(x)
no_grad_uses_batch = torch.allclose(no_grad_out, train_out, atol=1e-5)
no_grad_updates = (
    abs(under_no_grad.running_mean.item() - running_mean) < 1e-6
    and abs(under_no_grad.running_var.item() - running_var) < 1e-6
    and under_no_grad.num_batches_tracked.item() == 1
)
print("training mode under no_grad: batch statistics used", no_grad_uses_batch, end="")
print(", running statistics updated", no_grad_updates)
under_inference_mode = nn.BatchNorm1d(1).to(device)  # nor is inference_mode
with torch.inference_mode():
    under_inference_mode(x)
inference_mode_updates = (
    abs(under_inference_mode.running_mean.item() - running_mean) < 1e-6
    and under_inference_mode.num_batches_tracked.item() == 1
)
print("training mode under inference_mode: running statistics updated", inference_mode_updates)

# Without running statistics (track_running_stats=False) evaluation mode uses the batch too.
untracked = nn.BatchNorm1d(1, track_running_stats=False).to(device).eval()
untracked_out = untracked(x)
untracked_uses_batch = untracked.running_mean is None and torch.allclose(
    untracked_out, train_out, atol=1e-5
)
untracked_values = [round(v, 4) for v in untracked_out.flatten().tolist()]
print("eval output without running statistics:", untracked_values)
# Why: the layer passes training=True to F.batch_norm whenever it has no running statistics.
with mock.patch.object(F, "batch_norm", wraps=F.batch_norm) as batch_norm_calls:
    untracked(x)
    nn.BatchNorm1d(1).to(device).eval()(x)  # with running statistics, for comparison
training_passed = [call.args[5] for call in batch_norm_calls.call_args_list]
print("training= passed to F.batch_norm in eval mode, without and with running statistics:", end="")
print(f" {training_passed}")

# Input of shape (1, C) gives one value per channel, no spread: training mode refuses it.
single = torch.tensor([[1.0]], device=device)
eval_single = bn(single).item()  # evaluation mode, running statistics: fine
bn.train()
try:
    bn(single)
except ValueError as error:
    message = f"{type(error).__name__}: {error}"
print(message)
# BatchNorm's forward counts the batch before F.batch_norm refuses it; the statistics stay put.
refused_counted = (
    bn.num_batches_tracked.item() == tracked + 1
    and bn.running_mean.item() == running_mean
    and bn.running_var.item() == running_var
)
print("after the refusal: batches tracked", bn.num_batches_tracked.item(), end="")
print(f", running mean {bn.running_mean.item():.4f}")
# That matters with momentum=None, a cumulative average that weighs each batch by the counter.
cumulative = nn.BatchNorm1d(1, momentum=None).to(device)
with contextlib.suppress(ValueError):  # refused, as above
    cumulative(single)
cumulative(x)  # counted as the second batch: running mean 0 + (2.5 - 0) / 2, not 2.5
cumulative_mean = cumulative.running_mean.item()
print(f"momentum=None, a refused batch, then the batch: running mean {cumulative_mean:.4f}")
try:
    untracked(single)  # evaluation mode, but no running statistics to fall back on
except ValueError as error:
    untracked_message = f"{type(error).__name__}: {error}"
print("without running statistics, in evaluation mode:", untracked_message.split(",")[0])
# The refusal is F.batch_norm's check, made before the kernel runs. The kernel alone (on the CPU
# here) would accept one value per channel and update the running statistics with it; the
# unbiased variance of one value divides 0 by n - 1 = 0, so the running variance becomes NaN.
fresh = nn.BatchNorm1d(2)  # the default layer: running statistics, momentum 0.1
with torch.no_grad():
    torch.batch_norm(  # what F.batch_norm calls after its check; training=True, no cuDNN
        torch.tensor([[3.0, -1.0]]),  # shape (1, C): one value per channel
        fresh.weight,
        fresh.bias,
        fresh.running_mean,
        fresh.running_var,
        True,
        fresh.momentum,
        fresh.eps,
        False,
    )
running_var_is_nan = bool(torch.isnan(fresh.running_var).all())
eval_after_nan = fresh.eval()(torch.tensor([[3.0, -1.0], [0.0, 1.0]]))  # a later prediction
eval_is_nan = bool(torch.isnan(eval_after_nan).all())
print("the kernel alone, one value per channel: running variance", fresh.running_var.tolist())
print("later evaluation-mode output:", eval_after_nan.tolist())

# The statistics are over batch and spatial positions: one sequence or one image is enough.
one_example = {
    "BatchNorm1d, one sequence (1, 3, 5)": (nn.BatchNorm1d(3), (1, 3, 5)),
    "BatchNorm2d, one image (1, 3, 8, 8)": (nn.BatchNorm2d(3), (1, 3, 8, 8)),
}
one_example_trains = []
one_position = {
    "BatchNorm1d": (nn.BatchNorm1d(3), (1, 3, 1)),
    "BatchNorm2d": (nn.BatchNorm2d(3), (1, 3, 1, 1)),
}
refusals = []  # but one position per channel is one value per channel again
for layer, shape in one_position.values():
    try:
        layer.to(device)(torch.zeros(shape, device=device))
        refusals.append(False)
    except ValueError as error:
        refusals.append("Expected more than 1 value per channel" in str(error))
one_position_refused = all(refusals)
for name, (layer, shape) in one_example.items():
    layer.to(device)  # in training mode
    values = torch.arange(float(torch.Size(shape).numel()), device=device).reshape(shape)
    out = layer(values)
    dims = [0] + list(range(2, len(shape)))  # every dimension except the channels
    per_channel_mean = out.mean(dim=dims)
    normalized = torch.allclose(per_channel_mean, torch.zeros_like(per_channel_mean), atol=1e-5)
    one_example_trains.append(normalized and layer.num_batches_tracked.item() == 1)
    means = [round(v, 4) + 0.0 for v in per_channel_mean.tolist()]  # + 0.0 turns -0.0 into 0.0
    print(f"{name}, training mode: mean per channel", means)

assert buffer_names == "running_mean, running_var, num_batches_tracked"
assert initial_statistics == (0.0, 1.0, 0)  # witness: starts-at-zero-and-one
assert abs(batch_mean - 2.5) < 1e-6 and abs(batch_var_biased - 1.25) < 1e-6
assert abs(batch_var_unbiased - 5 / 3) < 1e-6
assert momentum == 0.1 and abs(keep - 0.9) < 1e-12 and eps == 1e-5
assert torch.allclose(train_out, expected, atol=1e-5)  # witness: train-uses-batch
from_zero = abs(running_mean - 0.1 * 2.5) < 1e-6
from_one = abs(moved_mean - (0.9 * 1.0 + 0.1 * 2.5)) < 1e-6  # no memory: 0.25; accumulating: 1.25
assert from_zero and from_one  # witness: momentum-weights-new-value
assert abs(running_var - (0.9 + 0.1 * 5 / 3)) < 1e-6  # witness: unbiased-update
assert tracked == 1
assert torch.allclose(eval_out, eval_expected, atol=1e-5)  # witness: eval-uses-running
keeps_old = abs(sgd_kept - 0.9) < 1e-6  # 0.9 * 1 + 0
adds_new_whole = abs(sgd_summed - 1.9) < 1e-6  # 0.9 * 1 + 1, not 0.9 * 1 + 0.1 * 1
assert keeps_old and adds_new_whole  # witness: optimizer-momentum-weights-old
assert unchanged  # witness: eval-leaves-statistics
assert no_grad_uses_batch and no_grad_updates  # witness: no-grad-is-not-a-mode
assert no_grad_updates and inference_mode_updates  # witness: autograd-switches-do-not-freeze
assert abs(eval_first - eval_single) < 1e-6  # witness: eval-accepts-one
assert message.startswith("ValueError: Expected more than 1 value per channel when training")
assert untracked_uses_batch  # witness: untracked-eval-uses-batch
assert training_passed == [True, False]  # witness: untracked-asks-for-training
assert untracked_message == message  # witness: untracked-eval-refuses-one
assert all(one_example_trains) and one_position_refused  # witness: one-image-trains
assert refused_counted and abs(cumulative_mean - 1.25) < 1e-6  # witness: refused-batch-counted
assert running_var_is_nan and eval_is_nan  # witness: check-before-kernel

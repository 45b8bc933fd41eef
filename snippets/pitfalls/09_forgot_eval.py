"""Predicting in training mode: dropout makes answers random, batch norm makes each answer depend
on the rest of the batch and moves its running statistics (no_grad does not stop that), and a
single feature vector fails in BatchNorm1d."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1)
)
batch = torch.randn(16, 4)
model(batch)  # stands in for training; the model is still in training mode
updates_after_training = int(model[1].num_batches_tracked)

# The mistake: predicting without model.eval(). no_grad() turns off autograd, not training mode.
running_mean = model[1].running_mean.clone()
with torch.no_grad():
    still_training = model.training and model[1].training
    first, second = model(batch[:4]), model(batch[:4])
statistics_drift = not torch.equal(model[1].running_mean, running_mean)
train_mode_same = torch.equal(first, second)
updates_after_predicting = int(model[1].num_batches_tracked)
mean_before_failure = model[1].running_mean.clone()
try:
    model(torch.randn(1, 4))
    message = ""
except ValueError as error:
    message = str(error)
# The failed call counted itself before it raised, but left the running mean as it was.
failure_counted = int(model[1].num_batches_tracked) == updates_after_predicting + 1
failure_kept_mean = torch.equal(model[1].running_mean, mean_before_failure)
print("training mode: same input twice, same output?", train_mode_same)
print(
    "batch norm updates: after training",
    updates_after_training,
    " after predicting",
    updates_after_predicting,
)
print(f"one example -> ValueError: {message}")
print("  the failed call counted as an update:", failure_counted, end="; ")
print("it left the running mean as it was:", failure_kept_mean)

# One image in BatchNorm2d is 16 values per channel: no error, and the statistics still update.
image_norm = nn.BatchNorm2d(3)
image_norm(torch.randn(1, 3, 4, 4))
single_image_updates = int(image_norm.num_batches_tracked)
image_mean_moved = not torch.equal(image_norm.running_mean, torch.zeros(3))  # it starts at zeros
print("one 1x3x4x4 image through BatchNorm2d: no error, updates:", single_image_updates)
print("  its running mean moved away from zeros:", image_mean_moved)
# What counts is the number of values per channel, not the number of examples: one sequence of
# length 5 in BatchNorm1d passes, one of length 1 fails like a single feature vector.
sequence_norm = nn.BatchNorm1d(8)
sequence_shape = tuple(sequence_norm(torch.randn(1, 8, 5)).shape)
try:
    sequence_norm(torch.randn(1, 8, 1))
    length_one_message = ""
except ValueError as error:
    length_one_message = str(error)
print("one 1x8x5 sequence through BatchNorm1d: output shape", sequence_shape)
print(f"one 1x8x1 sequence -> ValueError: {length_one_message}")

# Batch norm alone (no dropout): the same batch gives the same answers, but an example's answer
# depends on its batch mates, and the moved running statistics change later eval-mode answers.
torch.manual_seed(0)
norm_only = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
mates = torch.cat([batch[:1], batch[8:11]])  # example 0 with three other examples
with torch.no_grad():
    eval_before = norm_only.eval()(batch[:4])
    norm_only.train()  # the mistake: the model is left in training mode for predictions
    first_pass = norm_only(batch[:4])
    mean_between = norm_only[1].running_mean.clone()
    again = first_pass, norm_only(batch[:4])
    moved_between = not torch.equal(mean_between, norm_only[1].running_mean)
    with_mates = norm_only(mates)
    eval_after = norm_only.eval()(batch[:4])
same_batch_same = torch.equal(*again)
depends_on_mates = not torch.allclose(again[0][0], with_mates[0], atol=1e-4)
eval_spoiled = not torch.allclose(eval_before, eval_after, atol=1e-4)
print("batch norm only, training mode: same batch twice, same output?", same_batch_same)
print("  example 0 with other batch mates, same output?", not depends_on_mates)
print("  eval-mode output changed by the predictions made in training mode?", eval_spoiled)

# The fix: eval mode, plus inference_mode to skip autograd's bookkeeping.
model.eval()
updates_before = int(model[1].num_batches_tracked)
statistics_before = model[1].running_mean.clone(), model[1].running_var.clone()
with torch.inference_mode():
    first, second = model(batch[:4]), model(batch[:4])
    single = model(torch.randn(1, 4))
eval_mode_same = torch.equal(first, second)
eval_updates = int(model[1].num_batches_tracked) - updates_before
statistics_after = model[1].running_mean, model[1].running_var
statistics_kept = all(map(torch.equal, statistics_before, statistics_after))
# A control: inference_mode alone, in training mode, still updates; it is eval() that stops it.
control = nn.BatchNorm1d(8)
with torch.inference_mode():
    control(torch.arange(32.0).view(4, 8))
inference_mode_alone_updates = int(control.num_batches_tracked) == 1
print(
    "eval mode: same input twice, same output?",
    eval_mode_same,
    " batch norm updates:",
    eval_updates,
    " running statistics unchanged:",
    statistics_kept,
)

# Except where batch norm keeps no running statistics: then eval mode uses the batch's too.
no_running_stats = nn.BatchNorm1d(8, track_running_stats=False).eval()
try:
    no_running_stats(torch.randn(1, 8))
    no_running_stats_message = ""
except ValueError as error:
    no_running_stats_message = str(error)
spread = torch.randn(16, 8) * 3 + 5  # far from the initial running mean 0 and variance 1
uses_batch_statistics = torch.allclose(no_running_stats(spread).mean(0), torch.zeros(8), atol=1e-5)
print(
    f"track_running_stats=False, eval mode, one example -> ValueError: {no_running_stats_message}"
)

# Dropout in training mode zeroes random values and scales the others by 1 / (1 - p): here 4,
# where 1 / p would give 4 / 3.
dropped = nn.Dropout(0.75)(torch.ones(64))  # 64 values: some are all but sure to be kept
print("nn.Dropout(0.75) in training mode, on 64 ones, gives only:", sorted(set(dropped.tolist())))

assert not train_mode_same  # witness: train-mode-random
assert same_batch_same and moved_between  # witness: same-batch-same-output
assert depends_on_mates  # witness: depends-on-batch-mates
assert eval_spoiled  # witness: drift-spoils-eval
assert still_training and statistics_drift  # witness: no-grad-keeps-training
assert (updates_after_training, updates_after_predicting) == (1, 3)
assert message.startswith("Expected more than 1 value per channel when training")
assert failure_counted and failure_kept_mean  # witness: failed-call-counted
assert single_image_updates == 1 and image_mean_moved  # witness: single-image-silent
no_update = eval_updates == 0 and statistics_kept and inference_mode_alone_updates
assert eval_mode_same and tuple(single.shape) == (1, 1) and no_update  # witness: eval-fixes
single_fails = no_running_stats_message.startswith(
    "Expected more than 1 value per channel when training"
)  # the same message, "when training" included, although the module is in evaluation mode
in_eval = not no_running_stats.training
assert uses_batch_statistics and single_fails and in_eval  # witness: no-running-stats-eval-fails
one_value_fails = length_one_message.startswith("Expected more than 1 value per channel")
assert sequence_shape == (1, 8, 5) and one_value_fails  # witness: one-value-per-channel-fails
assert set(dropped.tolist()) == {0.0, 4.0}  # witness: dropout-zeroes-and-scales

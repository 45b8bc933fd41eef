"""Exercise: with momentum=None, BatchNorm's running mean is the plain average of batch means."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
batches = [(torch.randn(32, 2) + shift).to(device) for shift in (0.0, 1.0, 2.0, 3.0, 4.0)]

cumulative = nn.BatchNorm1d(2, momentum=None).to(device)
exponential = nn.BatchNorm1d(2).to(device)  # momentum=0.1, the default
counter_ignored = nn.BatchNorm1d(2).to(device)  # the same, with its counter set far ahead
counter_ignored.num_batches_tracked.fill_(1000)
head_start = nn.BatchNorm1d(2, momentum=None).to(device)  # cumulative, counter set far ahead
head_start.num_batches_tracked.fill_(1000)
other_start = nn.BatchNorm1d(2).to(device)  # momentum=0.1, running mean starting at 10
other_start.running_mean.fill_(10.0)
with torch.no_grad():
    for batch in batches:
        for layer in (cumulative, exponential, counter_ignored, head_start, other_start):
            layer(batch)

average_of_means = torch.stack([batch.mean(dim=0) for batch in batches]).mean(dim=0)
batches_seen = int(cumulative.num_batches_tracked)
cumulative_mean = cumulative.running_mean[0].item()
exponential_mean = exponential.running_mean[0].item()
true_mean = average_of_means[0].item()
print(f"batches seen: {batches_seen}")
print(f"feature 0: average of batch means {true_mean:.3f}")
print(f"           momentum=None  running_mean {cumulative_mean:.3f}")
# With momentum=None each update moves 1/num_batches_tracked of the way, so a counter that starts
# at 1000 weighs the five batches as 5 of 1005: the mean barely moves from its start value 0.
head_start_mean = head_start.running_mean[0].item()
print(f"           momentum=None, counter from 1000: running_mean {head_start_mean:.4f}")
decay = 1 - exponential.momentum  # the share of the old running mean that each update keeps
# The share of the start value that is left: two layers that differ only in their start values.
start_shares = (other_start.running_mean - exponential.running_mean) / 10.0
weight_on_start = start_shares[0].item()
weight_on_start_percent = round(100 * weight_on_start)
print(
    f"           momentum=0.1   running_mean {exponential_mean:.3f}  "
    f"({weight_on_start:.0%} of its weight still on the start value 0)"
)

assert batches_seen == 5
assert torch.allclose(cumulative.running_mean, average_of_means, atol=1e-5)  # witness: cumulative
# The counter sets the size of each update: 5 batches of 1005 counted, not 5 of 5.
counted_share = batches_seen / (1000 + batches_seen)
expected_head_start = average_of_means * counted_share
counter_sets_size = torch.allclose(head_start.running_mean, expected_head_start, atol=1e-6)
# The running variance too: it starts at 1, and the unbiased batch variances count 5 of 1005.
average_of_vars = torch.stack([batch.var(dim=0) for batch in batches]).mean(dim=0)
expected_var = 1 + (average_of_vars - 1) * counted_share
counter_sets_size &= torch.allclose(head_start.running_var, expected_var, atol=1e-6)
assert counter_sets_size and head_start_mean < 0.01 * true_mean  # witness: counter-sets-size
start_share_expected = torch.full_like(start_shares, decay**batches_seen)
assert torch.allclose(start_shares, start_share_expected, atol=1e-5)  # witness: start-share
# With a number for momentum the counter plays no part in the update.
counter_made_no_difference = torch.equal(counter_ignored.running_mean, exponential.running_mean)
assert counter_made_no_difference  # witness: counter-unused
assert exponential_mean < 0.5 * true_mean  # witness: lags-behind
assert weight_on_start_percent == 59
assert abs(decay - 0.9) < 1e-12

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
with torch.no_grad():
    for batch in batches:
        cumulative(batch)
        exponential(batch)
        counter_ignored(batch)

average_of_means = torch.stack([batch.mean(dim=0) for batch in batches]).mean(dim=0)
batches_seen = int(cumulative.num_batches_tracked)
cumulative_mean = cumulative.running_mean[0].item()
exponential_mean = exponential.running_mean[0].item()
true_mean = average_of_means[0].item()
print(f"batches seen: {batches_seen}")
print(f"feature 0: average of batch means {true_mean:.3f}")
print(f"           momentum=None  running_mean {cumulative_mean:.3f}")
decay = 1 - exponential.momentum  # the share of the old running mean that each update keeps
weight_on_start = decay**batches_seen
weight_on_start_percent = round(100 * weight_on_start)
print(
    f"           momentum=0.1   running_mean {exponential_mean:.3f}  "
    f"({weight_on_start:.0%} of its weight still on the start value 0)"
)

assert batches_seen == 5
assert torch.allclose(cumulative.running_mean, average_of_means, atol=1e-5)  # witness: cumulative
# With a number for momentum the counter plays no part in the update.
counter_made_no_difference = torch.equal(counter_ignored.running_mean, exponential.running_mean)
assert counter_made_no_difference  # witness: counter-unused
assert exponential_mean < 0.5 * true_mean  # witness: lags-behind
assert weight_on_start_percent == 59
assert abs(decay - 0.9) < 1e-12

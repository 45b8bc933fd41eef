"""Exercise: shrink a checkpoint to bfloat16 without breaking its integer entries."""

import torch
from torch import nn


def to_low_precision(state: dict, dtype: torch.dtype = torch.bfloat16) -> dict:
    """Cast the floating-point tensors; leave integer tensors (and anything else) as they are."""
    return {
        name: value.to(dtype) if torch.is_tensor(value) and value.is_floating_point() else value
        for name, value in state.items()
    }


torch.manual_seed(0)
trained = nn.BatchNorm1d(3)
trained.num_batches_tracked.fill_(257)  # as after 257 training batches
state = trained.state_dict()

at_256 = torch.tensor(256.0, dtype=torch.bfloat16)
spacing_above_256 = (torch.nextafter(at_256, at_256 + 10) - at_256).item()  # bfloat16 grid
# 257 and 259 lie halfway between two neighbours; a tie goes to the one whose last mantissa
# bit is 0 (256 = 1.0000000 x 2**8, 260 = 1.0000010 x 2**8), so one rounds down, one up.
ties = torch.tensor([257.0, 259.0]).bfloat16().tolist()
print("257 and 259 in bfloat16:", ties)
naive = {name: value.to(torch.bfloat16) for name, value in state.items()}
safe = to_low_precision(state)
print("naive cast: num_batches_tracked =", naive["num_batches_tracked"])
print("safe cast:  num_batches_tracked =", safe["num_batches_tracked"])

# The default load copies into the model's int64 counter: the count is off by one already.
model = nn.BatchNorm1d(3).bfloat16()
model.load_state_dict(naive)
copied_count = model.num_batches_tracked
print("default load of the naive copy:", copied_count)

# With assign=True the model takes the bfloat16 counter, and counting stalls.
model = nn.BatchNorm1d(3).bfloat16()
model.load_state_dict(naive, assign=True)
counter_dtype = model.num_batches_tracked.dtype
model(torch.randn(4, 3).bfloat16())  # a training-mode forward adds 1 to the counter
stalled_at = model.num_batches_tracked.item()
print(f"assign=True: counter is {counter_dtype}, after one more batch it reads {stalled_at:g}")

# The safe copy loads either way, and the counter keeps counting.
model = nn.BatchNorm1d(3).bfloat16()
model.load_state_dict(safe, assign=True)
model(torch.randn(4, 3).bfloat16())
counted = model.num_batches_tracked.item()
print("safe copy, assign=True: after one more batch it reads", counted)

assert spacing_above_256 == 2.0
naive_count = naive["num_batches_tracked"].item()
assert naive_count == 256 and ties == [256, 260]  # witness: naive-rounds-count
assert copied_count.dtype == torch.int64 and copied_count.item() == 256  # witness: copy-off
assert counter_dtype == torch.bfloat16 and stalled_at == 256  # witness: counter-stalls
assert safe["num_batches_tracked"].dtype == torch.int64 and counted == 258  # witness: safe-counts

"""load_state_dict(strict=False) loads what matches and reports the rest: read that report."""

import copy
import warnings

import torch
from torch import nn


class OldNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.aux_head = nn.Linear(8, 1)  # an auxiliary output the new model dropped
        self.head = nn.Linear(8, 3)


class NewNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.adapter = nn.Linear(8, 8)  # a layer the old checkpoint does not have
        self.head = nn.Linear(8, 3)


torch.manual_seed(0)
checkpoint = OldNet().state_dict()
model = NewNet()
adapter_before = model.adapter.weight.detach().clone()

strict_message = "no error"
try:
    model.load_state_dict(checkpoint)  # strict=True is the default
except RuntimeError as error:
    strict_message = str(error)
    print(f"{type(error).__name__}: {strict_message.splitlines()[0]}")
    for line in strict_message.splitlines()[1:]:
        print("   ", line.strip())

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = model.load_state_dict(checkpoint, strict=False)
print("missing keys:   ", result.missing_keys)  # in the model, not in the file: left as initialized
print("unexpected keys:", result.unexpected_keys)  # in the file, not in the model: ignored
print("warnings about them:", len(caught))
now = model.state_dict()
shared_loaded = all(torch.equal(now[key], value) for key, value in checkpoint.items() if key in now)
adapter_as_initialized = torch.equal(model.adapter.weight, adapter_before)
print("every key both sides share (body and head) was loaded:", shared_loaded)

# Strict has exceptions. BatchNorm fills in a missing num_batches_tracked, with its own count,
# when the dictionary's version metadata is missing or older than 2 (files from before that
# buffer); state_dict attaches version 2.
norm_state = nn.BatchNorm1d(3).state_dict()
del norm_state["num_batches_tracked"]
counted = nn.BatchNorm1d(3)
counted.num_batches_tracked.fill_(5)  # as if it had seen 5 batches
no_metadata = str(counted.load_state_dict(dict(norm_state)))  # dict() drops _metadata
old_version = copy.deepcopy(norm_state)
old_version._metadata[""]["version"] = 1
version_1 = str(nn.BatchNorm1d(3).load_state_dict(old_version))
try:
    nn.BatchNorm1d(3).load_state_dict(norm_state)
    with_metadata = "loaded"
except RuntimeError as error:
    with_metadata = str(error).splitlines()[-1].strip()
print("BatchNorm1d without num_batches_tracked, no metadata:", no_metadata)
print("  its count afterwards:", counted.num_batches_tracked.item())
print("BatchNorm1d without num_batches_tracked, version 1:", version_1)
print("BatchNorm1d without num_batches_tracked, version 2:", with_metadata)
# A layer on meta has no count to keep: with assign=True it gets a new one, made on the default
# device, not the file's. (Each load gets a dictionary of its own: a load with assign=True marks
# the dictionary's metadata, and later loads of it assign too.)
meta_file = nn.BatchNorm1d(3).state_dict()  # on the CPU
del meta_file["num_batches_tracked"]
meta_file._metadata[""]["version"] = 1
file_for_meta_block = copy.deepcopy(meta_file)
with torch.device("meta"):
    on_meta = nn.BatchNorm1d(3)
    in_block = nn.BatchNorm1d(3)
    in_block.load_state_dict(file_for_meta_block, assign=True)  # the default device is meta here
count_was_meta = on_meta.num_batches_tracked.is_meta
on_meta.load_state_dict(meta_file, assign=True)
meta_count = on_meta.num_batches_tracked
block_mean, block_count = in_block.running_mean.device, in_block.num_batches_tracked.device
print("  on meta, assign=True: its count afterwards:", meta_count.item(), "on", meta_count.device)
print("  the same, loaded inside a meta block: mean on", block_mean, "and count on", block_count)

# A child set to None still owns its name, and keys under that name are dropped, even by strict.
without_aux = OldNet()
without_aux.aux_head = None  # the checkpoint still has aux_head.weight and aux_head.bias
none_child_report = str(without_aux.load_state_dict(checkpoint))  # strict=True
print("strict load, aux_head set to None:", none_child_report)

# strict=False is safe only together with a check that the gaps are the ones you expect.
missing_ok = set(result.missing_keys) == {"adapter.weight", "adapter.bias"}
unexpected_ok = set(result.unexpected_keys) == {"aux_head.weight", "aux_head.bias"}
assert missing_ok and unexpected_ok  # witness: reports-the-differing-layers
assert not caught  # witness: no-warning

missing_count = len(result.missing_keys)
unexpected_count = len(result.unexpected_keys)
strict_header = strict_message.startswith("Error(s) in loading state_dict for NewNet")
both_ways = "Missing key(s)" in strict_message and "Unexpected key(s)" in strict_message
assert strict_header and both_ways  # witness: strict
assert none_child_report == "<All keys matched successfully>"  # witness: none-child-ignored
assert shared_loaded and (missing_count, unexpected_count) == (2, 2)  # witness: shared-keys-load
assert adapter_as_initialized  # witness: missing-left-as-initialized
assert no_metadata == version_1 == "<All keys matched successfully>" and with_metadata.startswith(
    'Missing key(s) in state_dict: "num_batches_tracked"'
)  # witness: batchnorm-fills-in
assert counted.num_batches_tracked.item() == 5  # witness: batchnorm-keeps-own-count
new_cpu_zero = meta_count.item() == 0 and meta_count.device.type == "cpu"
# In the block the mean is the file's tensor, on the CPU; the count follows the default device.
count_on_default = new_cpu_zero and block_count.type == "meta" and block_mean.type == "cpu"
assert count_was_meta and count_on_default  # witness: batchnorm-meta-assign-zero

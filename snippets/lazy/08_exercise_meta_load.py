"""Exercise: load a checkpoint into a model built on the meta device."""

import warnings

import torch
from torch import nn


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
checkpoint = build().state_dict()  # stands in for torch.load(path, map_location=...)

# Copying into meta tensors does nothing: PyTorch warns once per tensor and the model stays empty.
with torch.device("meta"):
    model = build()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.load_state_dict(checkpoint)
warning_count = len(caught)
still_meta = model[0].weight.is_meta
print(f"plain load: {warning_count} warnings, weights still on meta: {still_meta}")
print("first warning:", str(caught[0].message)[:75], "...")

# assign=True puts the checkpoint's tensors into the model instead of copying into the placeholders.
model.load_state_dict(checkpoint, assign=True)
loaded = all(torch.equal(p, checkpoint[name]) for name, p in model.named_parameters())
trainable = all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
shares_memory = model[0].weight.data_ptr() == checkpoint["0.weight"].data_ptr()
print(
    f"assign=True: values loaded {loaded}, still trainable Parameters {trainable}, "
    f"shares memory {shares_memory}"
)

assert warning_count == 4 and still_meta  # witness: plain-load-no-op
assert all("assign=True" in str(w.message) for w in caught)  # witness: warnings-suggest-assign
assert loaded and trainable and not model[0].weight.is_meta  # witness: assign-loads
assert shares_memory  # witness: assign-shares-memory

"""Pickling a whole module works; loading it back is refused by weights_only=True (the default)."""

import io
import pickle

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

whole = io.BytesIO()
torch.save(model, whole)  # pickles the objects themselves: classes are recorded by import path
weights = io.BytesIO()
torch.save(model.state_dict(), weights)  # only names and tensors

weights.seek(0)
state = torch.load(weights)  # weights_only=True is the default since PyTorch 2.6
state_tensors = len(state)
print("state_dict loads with the default settings:", state_tensors, "tensors")

refused = "nothing was refused"
whole.seek(0)
try:
    torch.load(whole)
except pickle.UnpicklingError as error:
    # The message is long; its key line names the first class the loader refused.
    refused = next(line for line in str(error).splitlines() if "Unsupported global" in line).strip()
    refused = refused.split(" was not")[0]
    print(f"{type(error).__name__}: ... {refused} ...")

whole.seek(0)
unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(whole))
print("globals in the file that weights_only does not allow:", unsafe)
unsafe_names = ", ".join(unsafe)
unsafe_count = len(unsafe)

# Allowlist exactly the classes you expect, for this one load only.
whole.seek(0)
with torch.serialization.safe_globals([nn.Sequential, nn.Linear, nn.ReLU]):
    loaded = torch.load(whole)
same_weights = torch.equal(loaded[0].weight, model[0].weight)
print(f"loaded with safe_globals: {type(loaded).__name__} of {len(loaded)} layers")
print("same weights as the saved model:", same_weights)

assert state_tensors == 4 and unsafe_count == 3
assert refused.startswith("WeightsUnpickler error: Unsupported global")
assert unsafe == [
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.linear.Linear",
]
assert isinstance(loaded, nn.Sequential) and same_weights

"""Exercise: a checkpoint keeps its hyperparameters in an argparse.Namespace. Load it safely."""

import argparse
import io
import pickle

import torch
from torch import nn

torch.manual_seed(0)
args = argparse.Namespace(d_hidden=8, lr=0.01, epochs=3)
model = nn.Linear(4, args.d_hidden)
file = io.BytesIO()
torch.save({"args": args, "state_dict": model.state_dict()}, file)

# 1. The default load refuses the Namespace class.
file.seek(0)
refused = "nothing was refused"
try:
    torch.load(file)
except pickle.UnpicklingError as error:
    refused = next(line for line in str(error).splitlines() if "Unsupported global" in line).strip()
    refused = refused.split(" was not")[0]
    print(f"{type(error).__name__}: ... {refused} ...")

# 2. We trust this file and know the class: allow it while the block runs.
file.seek(0)
with torch.serialization.safe_globals([argparse.Namespace]):
    checkpoint = torch.load(file)
print("loaded args:", checkpoint["args"])
file.seek(0)
try:
    torch.load(file)
    after_block = "loaded"
except pickle.UnpicklingError:
    after_block = "refused"
print("the same load after the block:", after_block)

# 3. Fix the file for good: store the hyperparameters as a plain dict.
fixed = io.BytesIO()
torch.save({"args": vars(checkpoint["args"]), "state_dict": checkpoint["state_dict"]}, fixed)
fixed.seek(0)
plain = torch.load(fixed)  # no allowlist needed any more
rebuilt = nn.Linear(4, plain["args"]["d_hidden"])
rebuilt.load_state_dict(plain["state_dict"])
print("re-saved args load with the defaults:", plain["args"])

assert "argparse.Namespace" in refused
assert (
    checkpoint["args"].d_hidden == 8 and after_block == "refused"
)  # witness: namespace-allowed-in-block
assert plain["args"] == {  # witness: plain-dict-loads
    "d_hidden": 8,
    "lr": 0.01,
    "epochs": 3,
}
assert torch.equal(rebuilt.weight, model.weight)

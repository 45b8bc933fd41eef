"""Since PyTorch 2.6 torch.load defaults to weights_only=True: a pickled whole module is refused."""

import io
import pickle
import re
import tempfile
from pathlib import Path

import torch
from torch import nn

model = nn.Linear(3, 2)
with tempfile.TemporaryDirectory() as folder:
    whole, weights = Path(folder) / "whole.pt", Path(folder) / "weights.pt"
    torch.save(model, whole)  # the mistake: pickles the module object, and refers to its class
    try:
        torch.load(whole)
        message = ""
    except pickle.UnpicklingError as error:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # drop the terminal colour codes
    first_sentence = message.split(". ")[0]
    blocked = next(line.strip() for line in message.splitlines() if "GLOBAL" in line)
    print(f"UnpicklingError: {first_sentence}. [...]\n    {blocked}")
    # The message also says when the default changed, and what it was before.
    _, found, rest = message.partition("In PyTorch 2.6")
    history = (found + rest).split(". ")[0]  # "" where the message has no such sentence
    print(f"    [...] {history}.")

    trusted = torch.load(whole, weights_only=False)  # only for files you trust: runs pickle
    print("with weights_only=False:", trusted)

    torch.save(model.state_dict(), weights)  # the fix: save only the tensors
    restored = nn.Linear(3, 2)
    restored.load_state_dict(torch.load(weights))
pairs = zip(model.state_dict().values(), restored.state_dict().values(), strict=True)
restored_equal = all(torch.equal(a, b) for a, b in pairs)
print("state_dict round trip gives equal tensors:", restored_equal)

# The default allowlist also covers some torch and Python types, but not every built-in one.
allowed = {"dtype": torch.float16, "size": torch.Size([2, 3]), "device": torch.device("cpu")}
buffer = io.BytesIO()
torch.save(allowed, buffer)
buffer.seek(0)
allowed_back = torch.load(buffer)
print("weights_only=True loads back:", allowed_back)
buffer = io.BytesIO()
torch.save({"rows": slice(0, 2)}, buffer)
buffer.seek(0)
try:
    torch.load(buffer)
    slice_message = ""
except pickle.UnpicklingError as error:
    slice_message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
slice_blocked = next((line.strip() for line in slice_message.splitlines() if "GLOBAL" in line), "")
print("a slice is refused:", slice_blocked.split(" was ")[0])

assert first_sentence == "Weights only load failed"  # witness: refused
assert "Unsupported global: GLOBAL torch.nn.modules.linear.Linear" in blocked  # witness: by-path
assert type(trusted) is nn.Linear  # witness: trusted-loads
dated = history.startswith("In PyTorch 2.6, we changed the default value of the `weights_only`")
assert dated and history.endswith("from `False` to `True`")  # witness: default-was-false
assert restored_equal  # witness: state-dict-round-trip
assert allowed_back == allowed and type(allowed_back["size"]) is torch.Size  # witness: allowlist
assert slice_message.startswith("Weights only load failed") and (  # witness: slice-refused
    "Unsupported global: GLOBAL slice" in slice_blocked
)

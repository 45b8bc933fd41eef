"""Pickling a whole module works; loading it back is refused by weights_only=True (the default)."""

import io
import os
import pickle
import threading
import warnings
from collections import Counter, OrderedDict
from unittest import mock

import numpy as np
import torch
from torch import nn


def refusal(file: io.BytesIO, **kwargs) -> str:
    """Load the file; return the key line of the refusal, or "loaded"."""
    file.seek(0)
    try:
        torch.load(file, **kwargs)
    except pickle.UnpicklingError as error:
        # The message is long; its key line names the first global the loader refused.
        line = next(line for line in str(error).splitlines() if "Unsupported global" in line)
        return line.strip().split(" was not")[0]
    return "loaded"


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

refused = refusal(whole)
print(f"UnpicklingError: ... {refused} ...")

# These built-in types and a few torch types load; others, and values from other libraries such
# as NumPy, do not.
plain = io.BytesIO()
containers = {"list": [1], "tuple": (1,), "set": {1}, "ordered": OrderedDict(), "counts": Counter()}
scalars = {"int": 3, "float": 0.9, "complex": 1j, "bool": True, "none": None, "str": "a"}
raw = {"bytes": b"\x00", "bytearray": bytearray(b"\x00")}
torch_types = {"dtype": torch.float16, "size": torch.Size([2]), "device": torch.device("cpu")}
torch.save({**containers, **scalars, **raw, **torch_types}, plain)
plain_loads = refusal(plain) == "loaded"
frozen = io.BytesIO()
torch.save(frozenset({1}), frozen)
frozenset_refused = refusal(frozen)
numpy_value = io.BytesIO()
torch.save({"accuracy": np.float64(0.9)}, numpy_value)  # e.g. a result of np.mean
numpy_refused = refusal(numpy_value)
print("the built-in and torch types above:", "loaded" if plain_loads else "refused")
print("a frozenset:", frozenset_refused)
print("a NumPy float:", numpy_refused)


def load_saved_with(**save_options) -> str:
    """Save a lone tensor with these torch.save options; load it with the defaults."""
    file = io.BytesIO()
    torch.save(torch.ones(2), file, **save_options)
    file.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a protocol other than 2 is warned about first
        try:
            torch.load(file)
        except pickle.UnpicklingError as error:
            return next(line.strip() for line in str(error).splitlines() if "Unsupported" in line)
    return "loaded"


# The pickle protocol counts too: the loader stops at the framing instruction that protocols 4
# and 5 add (pickle.FRAME, operand 149).
by_protocol = {p: load_saved_with(pickle_protocol=p) for p in (4, 5)}
default_protocol = load_saved_with()
print("a lone tensor, default protocol:", default_protocol, "| protocols 4, 5:", by_protocol)

# Passing a pickle_module makes the default weights_only=False: the whole module loads.
loads_with_pickle_module = refusal(whole, pickle_module=pickle) == "loaded"
print("with pickle_module=pickle and no weights_only:", loads_with_pickle_module)

whole.seek(0)
unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(whole))
print("globals in the file that weights_only does not allow yet:", unsafe)
unsafe_names = ", ".join(unsafe)
unsafe_count = len(unsafe)
with torch.serialization.safe_globals([nn.Linear]):
    whole.seek(0)
    still_unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(whole))
print("the same list while Linear is allowed:", still_unsafe)

# Allowlist exactly the classes you expect, while the block runs. The list is the process's:
# another thread loads the file too.
trusted = [nn.Sequential, nn.Linear, nn.ReLU]
in_thread = []
whole.seek(0)
with torch.serialization.safe_globals(trusted):
    loaded = torch.load(whole)
    thread = threading.Thread(target=lambda: in_thread.append(refusal(whole)))
    thread.start()
    thread.join()
print("another thread, while the block runs:", in_thread[0])
same_weights = torch.equal(loaded[0].weight, model[0].weight)
print(f"loaded with safe_globals: {type(loaded).__name__} of {len(loaded)} layers")
print("same weights as the saved model:", same_weights)
refused_after_block = refusal(whole)
print("after the with block:", refused_after_block)

# add_safe_globals allows them for every later load in this process, until cleared.
allowed_before = torch.serialization.get_safe_globals()
torch.serialization.add_safe_globals(trusted)
loads_after_add = refusal(whole) == "loaded"
print("after add_safe_globals:", "loaded" if loads_after_add else "refused")
with torch.serialization.safe_globals(trusted):
    pass
refused_after_add_and_block = refusal(whole)  # leaving the block removed them from the list
print("after add_safe_globals, then a safe_globals block:", refused_after_add_and_block)
torch.serialization.clear_safe_globals()
torch.serialization.add_safe_globals(allowed_before)  # leave the process as it was

# The two environment variables are read by every torch.load call.
no_weights_only = mock.patch.dict(os.environ, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"})
with no_weights_only, warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it warns that it changed the default
    loads_with_no_weights_only_env = refusal(whole) == "loaded"
    refused_when_passed = refusal(whole, weights_only=True)  # a call that passes it is obeyed
with mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"}):
    refused_despite_false = refusal(whole, weights_only=False)
print(
    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, no argument:",
    "loaded" if loads_with_no_weights_only_env else "refused",
)
print("TORCH_FORCE_WEIGHTS_ONLY_LOAD=1, weights_only=False:", refused_despite_false)


# Pickle records a class by its import path. When that path no longer exists, loading fails.
class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)


own_class = io.BytesIO()
torch.save(Net(), own_class)
del Net  # as if the class had been renamed or moved to another module
own_class.seek(0)
try:
    torch.load(own_class, weights_only=False)
    moved_class = "loaded"
except AttributeError as error:
    moved_class = f"{type(error).__name__}: {error}".split(" on <module")[0]
print("after the class was removed:", moved_class)

assert state_tensors == 4 and unsafe_count == 3
assert refused.startswith("WeightsUnpickler error: Unsupported global")  # witness: module-refused
assert plain_loads  # witness: plain-values-load
at_frame = f"Unsupported operand {pickle.FRAME[0]}"
higher_refused = all(message == at_frame for message in by_protocol.values())
assert default_protocol == "loaded" and higher_refused  # witness: protocol-4-refused
assert frozenset_refused.startswith(
    "WeightsUnpickler error: Unsupported global: GLOBAL frozenset"
)  # witness: frozenset-refused
assert numpy_refused.startswith(
    "WeightsUnpickler error: Unsupported global: GLOBAL numpy."
)  # witness: numpy-refused
assert unsafe == [
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.linear.Linear",
]
assert still_unsafe == unsafe[:2]  # witness: lists-only-not-yet-allowed
assert isinstance(loaded, nn.Sequential) and same_weights
assert in_thread == ["loaded"]  # witness: safe-globals-process-wide
assert refused_after_block.startswith("WeightsUnpickler error")  # witness: safe-globals-block-only
assert refused_after_add_and_block.startswith("WeightsUnpickler")  # witness: block-exit-removes
assert loads_with_pickle_module  # witness: pickle-module-unsafe
assert loads_after_add  # witness: add-safe-globals-process
obeys_argument = refused_when_passed.startswith("WeightsUnpickler error")
assert loads_with_no_weights_only_env and obeys_argument  # witness: env-no-weights-only
assert refused_despite_false.startswith("WeightsUnpickler error")  # witness: env-weights-only
assert moved_class.startswith("AttributeError: Can't get attribute 'Net'")  # witness: moved-class

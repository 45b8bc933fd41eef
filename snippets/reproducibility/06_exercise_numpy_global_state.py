"""Exercise: keep NumPy's global random state in a checkpoint that loads with weights_only=True."""

import io
import pickle

import numpy as np
import torch


def numpy_state_as_plain_data() -> dict:
    """np.random.get_state() holds an ndarray; turn it into lists and numbers."""
    name, key, position, has_gauss, cached_gauss = np.random.get_state()
    return {
        "name": name,
        "key": key.tolist(),
        "pos": position,
        "has_gauss": has_gauss,
        "gauss": cached_gauss,
    }


def restore_numpy_state(state: dict) -> None:
    key = np.array(state["key"], dtype=np.uint32)
    np.random.set_state((state["name"], key, state["pos"], state["has_gauss"], state["gauss"]))


np.random.seed(0)
np.random.rand(5)  # a run in progress

# Stored as is, the state makes the default torch.load refuse the whole checkpoint.
raw = io.BytesIO()
torch.save({"numpy_rng": np.random.get_state()}, raw)
raw.seek(0)
refused = "nothing was refused"
try:
    torch.load(raw)
except pickle.UnpicklingError as error:
    refused = next(line for line in str(error).splitlines() if "Unsupported global" in line).strip()
    refused = refused.split(" was not")[0]
    print(f"{type(error).__name__}: ... {refused} ...")

# Converted to plain data, it loads with the defaults and restores the stream exactly.
plain_state = numpy_state_as_plain_data()
key_length = len(plain_state["key"])  # MT19937's state: 624 32-bit integers
file = io.BytesIO()
torch.save({"numpy_rng": plain_state}, file)
expected_next = np.random.rand(3)  # what the run would have drawn next
np.random.seed(123)  # a new process starts elsewhere
file.seek(0)
restore_numpy_state(torch.load(file)["numpy_rng"])
resumed_next = np.random.rand(3)
same_stream = bool(np.array_equal(resumed_next, expected_next))
print("after restoring, NumPy draws the same numbers:", same_stream)

assert "Unsupported global" in refused and "_reconstruct" in refused  # witness: numpy-refused
assert same_stream and key_length == 624  # witness: stream-continues

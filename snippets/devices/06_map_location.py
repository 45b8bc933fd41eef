"""A checkpoint remembers the device of every tensor; map_location decides where they are loaded."""

import argparse
import io
import pickle

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
model = nn.Linear(3, 2).to(device)
checkpoint = io.BytesIO()  # an in-memory file; a path works the same way
torch.save(model.state_dict(), checkpoint)


def load(map_location):
    checkpoint.seek(0)
    return torch.load(checkpoint, map_location=map_location)


# A function as map_location sees the device each tensor was saved from.
recorded, arrived_on = [], set()


def keep_on_cpu(storage, location):
    recorded.append(location)
    arrived_on.add(storage.device.type)
    return storage  # storages are deserialized on the CPU first; returning them keeps them there


load(keep_on_cpu)
print("saved from:", recorded, "| the function received storages on:", sorted(arrived_on))

# The usual forms: a device (or its name), or a mapping from saved location to target.
for map_location in ("cpu", torch.device("cpu"), {"cuda:0": "cpu"}, device):
    state = load(map_location)
    print(f"map_location={map_location!r:30} -> weight on {state['weight'].device}")
loaded_on_device = state["weight"].device.type == device.type

# load_state_dict copies values into the model's own tensors: they stay where the model is.
restored = nn.Linear(3, 2).to(device)
own_weight, own_memory = restored.weight, restored.weight.data_ptr()
restored.load_state_dict(load("cpu"))
copied_in_place = restored.weight is own_weight and restored.weight.data_ptr() == own_memory
restored_device = next(restored.parameters()).device
restored_on_device = restored_device.type == device.type
print("restored model's parameters are on:", restored_device, "| same memory:", copied_in_place)
same_weights = torch.equal(restored.weight, model.weight)

# With assign=True the model takes the loaded tensors instead, and with them their device.
assigned = nn.Linear(3, 2).to(device)
cpu_state = load("cpu")
assigned.load_state_dict(cpu_state, assign=True)
print("with assign=True, the parameters are on:", assigned.weight.device)


# With its default weights_only=True, torch.load takes tensors and plain Python values (numbers,
# strings, lists, dicts, and a few more it allows), but refuses objects of other classes, such as
# the training arguments some scripts save with their weights, unless they are allowed by name.
def load_with_defaults(obj) -> str:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer)
    except pickle.UnpicklingError as error:
        return f"{type(error).__name__}: {error}".split(".")[0]
    return "loaded"


with_values = load_with_defaults({"model": model.state_dict(), "epoch": 3, "losses": [0.5, 0.2]})
print("a checkpoint holding an int and a list of floats ->", with_values)
with_args = {"model": model.state_dict(), "args": argparse.Namespace(lr=0.1)}
refused = load_with_defaults(with_args)
print("a checkpoint holding an argparse.Namespace ->", refused)
with torch.serialization.safe_globals([argparse.Namespace]):  # allowed inside this block only
    allowed = load_with_defaults(with_args)
print("the same, inside safe_globals([argparse.Namespace]) ->", allowed)
refused_again = load_with_defaults(with_args)

assert recorded and all(location.startswith(device.type) for location in recorded)
assert arrived_on == {"cpu"}  # witness: function-gets-cpu-storages
assert loaded_on_device and same_weights  # witness: loads-with-defaults
assert restored_on_device and copied_in_place  # witness: copy-keeps-model-device
assert all(t.device.type == "cpu" for t in load("cpu").values())  # witness: cpu-brings-to-cpu
assert assigned.weight.device.type == "cpu"  # witness: assign-takes-loaded-device
assert assigned.weight.data_ptr() == cpu_state["weight"].data_ptr()
assert with_values == "loaded"  # witness: plain-values-load
assert refused.startswith("UnpicklingError: Weights only load failed")  # witness: refuses-objects
assert allowed == "loaded" and refused_again == refused  # witness: safe-globals-allow

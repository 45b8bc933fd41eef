"""A state_dict with a shared layer: two keys, one storage, kept shared through save and load."""

import io
import pickle
import zipfile

import torch
from torch import nn


def build(tied: bool) -> nn.Sequential:
    third = nn.Linear(8, 8)
    fifth = third if tied else nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), third, nn.ReLU(), fifth, nn.ReLU(), nn.Linear(8, 1)
    )


def saved_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def data_records(file: bytes) -> int:
    """By default, a saved file is a zip archive with one record under data/ per storage."""
    return sum("/data/" in name for name in zipfile.ZipFile(io.BytesIO(file)).namelist())


def storage_address(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


def storage_count(state: dict[str, torch.Tensor]) -> int:
    return len({storage_address(tensor) for tensor in state.values()})


torch.manual_seed(0)
model = build(tied=True)
state = model.state_dict()
key_count = len(state)
both_keys = "2.weight" in state and "4.weight" in state
distinct_objects = state["2.weight"] is not state["4.weight"]
same_memory = storage_address(state["2.weight"]) == storage_address(state["4.weight"])
same_start = state["2.weight"].data_ptr() == state["4.weight"].data_ptr()
print(f"{key_count} keys, both 2.weight and 4.weight: {both_keys}")
print(f"different tensor objects: {distinct_objects}, same storage: {same_memory},", end=" ")
print(f"same data_ptr(): {same_start}")
# Each entry is a new detached tensor; keep_vars=True returns the parameters themselves instead.
kept = model.state_dict(keep_vars=True)
kept_is_parameter = kept["2.weight"] is model[2].weight is kept["4.weight"]
print("with keep_vars=True, both entries are the parameter itself:", kept_is_parameter)

# torch.save writes each storage once; torch.load rebuilds the sharing.
tied_file = saved_bytes(state)
untied_state = build(tied=False).state_dict()
untied_file = saved_bytes(untied_state)
tied_records, untied_records = data_records(tied_file), data_records(untied_file)
print(f"data records in the file: tied {tied_records}, untied {untied_records}")
loaded = torch.load(io.BytesIO(tied_file))  # weights_only=True, the default since PyTorch 2.6
loaded_count = len(loaded)
loaded_storages = storage_count(loaded)
w2, w4 = loaded["2.weight"], loaded["4.weight"]
# One storage is not enough (a row of w2 is in it too): the same start, shape and strides as well.
loaded_shared = storage_address(w2) == storage_address(w4) and w2.data_ptr() == w4.data_ptr()
loaded_shared &= w2.shape == w4.shape and w2.stride() == w4.stride()
untied_storages = storage_count(untied_state)
tied_file_is_smaller = len(tied_file) < len(untied_file)
print(
    f"loaded: {loaded_count} tensors in {loaded_storages} storages,",
    f"2.weight and 4.weight shared: {loaded_shared}",
)
print(
    f"an untied model's state_dict has {untied_storages} storages;",
    f"tied file is smaller: {tied_file_is_smaller}",
)
# The default load accepts tensors and plain containers, and refuses other pickled objects.
try:
    torch.load(io.BytesIO(saved_bytes(nn.Linear(1, 1))))
    refused_module = False
except pickle.UnpicklingError as error:
    refused_module = "Weights only load failed" in str(error)
print("the default torch.load refuses a pickled nn.Module:", refused_module)

# Loading into a freshly built tied model: the tie lives in the model, load_state_dict fills it in.
restored = build(tied=True)
weight_before_load, memory_before_load = restored[2].weight, restored[2].weight.data_ptr()
result = restored.load_state_dict(loaded)
still_tied = restored[2].weight is restored[4].weight
X = torch.randn(3, 4)
same_outputs = torch.equal(model(X), restored(X))
print("restored model still tied:", still_tied, " same outputs:", same_outputs)
# Copied in: the same Parameter on its own memory as before, not on the loaded tensor's memory.
same_parameter_object = restored[2].weight is weight_before_load
same_memory_as_before = restored[2].weight.data_ptr() == memory_before_load
not_on_loaded = restored[2].weight.data_ptr() != loaded["2.weight"].data_ptr()
copied_in = same_parameter_object and same_memory_as_before and not_on_loaded
print("same Parameter and memory as before the load, not the loaded tensor's:", copied_in)

assert key_count == 8 and both_keys  # witness: a-key-per-path
assert distinct_objects and same_memory and same_start  # witness: distinct-objects-same-memory
assert kept_is_parameter and not state["2.weight"].requires_grad  # witness: fresh-detached-view
assert (tied_records, untied_records) == (6, 8)  # witness: saved-once
assert (loaded_count, loaded_storages, untied_storages) == (8, 6, 8)
assert tied_file_is_smaller  # witness: tied-file-smaller
assert loaded_shared  # witness: load-rebuilds-sharing
assert refused_module  # witness: weights-only-default
assert not result.missing_keys and not result.unexpected_keys  # witness: every-key-found
assert still_tied and same_outputs  # witness: still-tied
assert copied_in  # witness: load-copies-into-parameters

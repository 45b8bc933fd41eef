"""What a state_dict holds, and a round trip through a file: save, load into a new model."""

import contextlib
import copy
import io
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Classifier(nn.Module):
    def __init__(self, d_in: int = 4, d_hidden: int = 8, n_classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU())
        self.head = nn.Linear(d_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


torch.manual_seed(0)
model = Classifier().to(device)
X = torch.randn(16, 4).to(device)
model(X)  # one forward pass in training mode updates BatchNorm's running statistics

state = model.state_dict()
for key, tensor in state.items():
    print(f"{key:26} {str(tuple(tensor.shape)):6} {tensor.dtype}")

state_entries = len(state)
parameter_tensors = len(list(model.parameters()))
buffer_tensors = len(list(model.buffers()))
print(f"{state_entries} entries = {parameter_tensors} parameters + {buffer_tensors} buffers")
named = [name for name, _ in [*model.named_parameters(), *model.named_buffers()]]
# One entry per name: a weight shared by two layers has two entries, but parameters() lists it once.
tied = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
tied[1].weight = tied[0].weight
tied_keys, tied_parameters = list(tied.state_dict()), len(list(tied.parameters()))
print(f"two layers sharing one weight: entries {tied_keys}, {tied_parameters} parameter")
# assign=True wraps each entry in a Parameter of its own: the two entries become two parameters.
untied = copy.deepcopy(tied)
untied.load_state_dict(copy.deepcopy(tied.state_dict()), assign=True)
untied_parameters = len(list(untied.parameters()))
one_memory = untied[0].weight.data_ptr() == untied[1].weight.data_ptr()
print(f"after load_state_dict(..., assign=True): {untied_parameters} parameters,", end=" ")
print(f"one memory: {one_memory}")
tied_file = io.BytesIO()  # the same from a file: the two entries come back on one storage
torch.save(tied.state_dict(), tied_file)
tied_file.seek(0)
from_file = copy.deepcopy(tied)
from_file.load_state_dict(torch.load(tied_file), assign=True)
file_parameters = len(list(from_file.parameters()))
file_one_memory = from_file[0].weight.data_ptr() == from_file[1].weight.data_ptr()
print(f"the same from a file: {file_parameters} parameters, one memory: {file_one_memory}")
# From clones, which no longer share a storage, the two parameters do not share memory either.
from_clones = copy.deepcopy(tied)
from_clones.load_state_dict({k: v.clone() for k, v in tied.state_dict().items()}, assign=True)
clones_apart = from_clones[0].weight.data_ptr() != from_clones[1].weight.data_ptr()
clone_parameters = len(list(from_clones.parameters()))
print(f"the same from clones: {clone_parameters} parameters, one memory: {not clones_apart}")

# Relative paths, inside a temporary folder: the archive's folder comes from the path torch.save
# is given, and the temporary folder's own path may hold other characters than ASCII.
with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
    path = Path("classifier.pt")
    torch.save(model.state_dict(), path)
    is_zip = zipfile.is_zipfile(path)
    names = zipfile.ZipFile(path).namelist()
    pickle_name = next(name for name in names if name.endswith(".pkl"))
    tensor_records = sum("/data/" in name for name in names)
    print(f"the file is a zip archive: {is_zip}, with {tensor_records} tensor records beside")
    print(f"{pickle_name}, the pickle that describes the dictionary")
    in_memory = io.BytesIO()  # a file object instead of a path: the folder is named "archive"
    torch.save(model.state_dict(), in_memory)
    file_object_pickle_name = next(n for n in zipfile.ZipFile(in_memory).namelist() if ".pkl" in n)
    print(f"written to a file object, the pickle is {file_object_pickle_name}")
    non_ascii_path = Path("modèle.pt")  # written through a Python file object as well
    torch.save(model.state_dict(), non_ascii_path)
    non_ascii_names = zipfile.ZipFile(non_ascii_path).namelist()
    non_ascii_pickle_name = next(n for n in non_ascii_names if ".pkl" in n)
    print(f"written to {non_ascii_path.name}, the pickle is {non_ascii_pickle_name}")
    whole = torch.arange(6.0)
    with_view = io.BytesIO()  # two tensors, one storage: a tensor and a view of it
    torch.save({"whole": whole, "first_half": whole[:3]}, with_view)
    view_records = sum("/data/" in name for name in zipfile.ZipFile(with_view).namelist())
    print(f"a tensor and a view of it are saved as {view_records} record")

    restored = Classifier().to(device)  # fresh random weights, fresh running statistics
    weight_before_load = restored.head.weight
    result = restored.load_state_dict(torch.load(path, map_location=device))
result_text = str(result)
print("load_state_dict returned:", result_text)

# A copy of the model that got the parameters but not the buffers (running statistics).
no_buffers = Classifier().to(device)
parameters_only = {name: tensor.detach() for name, tensor in model.named_parameters()}
no_buffers.load_state_dict(parameters_only, strict=False)
with torch.no_grad():  # on copies: a training-mode pass updates the running statistics
    same_in_train_mode = torch.allclose(copy.deepcopy(model)(X), copy.deepcopy(no_buffers)(X))
    same_in_eval_mode = torch.allclose(model.eval()(X), no_buffers.eval()(X))
print("model without its buffers agrees in training mode:", same_in_train_mode)
print("model without its buffers agrees in evaluation mode:", same_in_eval_mode)

restored.eval()
with torch.no_grad():
    same_outputs = torch.equal(model(X), restored(X))
print("restored model gives the same outputs in eval mode:", same_outputs)


# A module can add one entry that is not a tensor: whatever get_extra_state returns.
class Vocabulary(nn.Module):
    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self.extra = {"words": words}

    def get_extra_state(self) -> dict:
        return self.extra  # as is: the state_dict holds this very dict (deepcopy for a snapshot)

    def set_extra_state(self, extra: dict) -> None:
        self.extra = extra


with_vocabulary = nn.Sequential(nn.Linear(2, 2), Vocabulary(["cat", "dog"]))
extra = with_vocabulary.state_dict()
extra_key = next(key for key in extra if key.endswith("_extra_state"))
print("with get_extra_state:", {key: type(value).__name__ for key, value in extra.items()})

# A buffer registered with persistent=False is module state that state_dict leaves out.
scaled = nn.Linear(2, 2)
scaled.register_buffer("scale", torch.tensor(2.0), persistent=False)
print("buffers:", [n for n, _ in scaled.named_buffers()], "state_dict:", list(scaled.state_dict()))

assert isinstance(state, OrderedDict)  # witness: ordered-dict
assert sorted(state) == sorted(named) and (
    "scale" in dict(scaled.named_buffers()) and "scale" not in scaled.state_dict()
)  # witness: parameters-and-buffers
assert list(state)[:2] == ["body.0.weight", "body.0.bias"]
assert not any(key.startswith("body.2.") for key in state)  # witness: relu-has-no-entry
assert "body.1.running_mean" in state and state["body.1.num_batches_tracked"].item() == 1
assert (state_entries, parameter_tensors, buffer_tensors) == (9, 6, 3)
tied_state = tied.state_dict()
same_tensor = tied_state["0.weight"].data_ptr() == tied_state["1.weight"].data_ptr()
two_entries = tied_keys == ["0.weight", "1.weight"] and same_tensor
assert two_entries and tied_parameters == 1  # witness: one-entry-per-name
two_objects = untied[0].weight is not untied[1].weight
splits = untied_parameters == file_parameters == 2 and one_memory and file_one_memory
assert splits and two_objects  # witness: assign-unties
assert clones_apart and clone_parameters == 2  # witness: clones-untie-fully
assert is_zip  # witness: file-is-zip
assert pickle_name == f"{path.stem}/data.pkl"  # witness: pickle-named-after-file
archive_named = file_object_pickle_name == non_ascii_pickle_name == "archive/data.pkl"
assert archive_named  # witness: file-object-archive
storages = {tensor.untyped_storage().data_ptr() for tensor in state.values()}
assert tensor_records == len(storages) == 9 and view_records == 1  # witness: one-record-per-storage
assert result.missing_keys == [] and result.unexpected_keys == []
assert restored.head.weight is weight_before_load and same_outputs  # witness: load-copies
assert same_in_train_mode and not same_in_eval_mode  # witness: buffers-matter-in-eval-only
returned_object = with_vocabulary[1].extra  # the very object get_extra_state returns
assert extra[extra_key] is returned_object  # witness: extra-state-any-object
assert extra_key == "1._extra_state" and extra[extra_key] == {"words": ["cat", "dog"]}

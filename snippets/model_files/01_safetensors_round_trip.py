"""A state_dict through safetensors: to a file and back, and to bytes in memory and back."""

import io
import json
import struct
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load, load_file, save, save_file
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
model = make_model().to(device)
X = torch.randn(16, 4).to(device)
model(X)  # one training-mode pass updates BatchNorm's running statistics
model.eval()
state = model.state_dict()

# For comparison, torch.save writes a zip archive: a pickle, and one file per storage's bytes.
archive = io.BytesIO()
torch.save(state, archive)
with zipfile.ZipFile(archive) as opened:
    members = [name.split("/", 1)[1] for name in opened.namelist()]
storage_files = [name for name in members if name.startswith("data/")]
print(f"torch.save: a zip archive with data.pkl and {len(storage_files)} files of raw bytes")

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.safetensors"
    save_file(state, path)  # tensors on any device: they are copied to the file
    file_content = path.read_bytes()
    loaded = load_file(path)  # a plain dict of tensors, on the CPU unless told otherwise
    on_device = load_file(path, device=str(device))

header_length = struct.unpack("<Q", file_content[:8])[0]
header = json.loads(file_content[8 : 8 + header_length])  # the names, in the file's order
header_names = [name for name in header if name != "__metadata__"]
for key in sorted(loaded):  # the keys come in the header's order, not the state_dict's: sort
    print(f"{key:22} {str(tuple(loaded[key].shape)):6} {loaded[key].dtype}")
tensors_in_file = len(loaded)
file_bytes = len(file_content)
loaded_devices = sorted({str(tensor.device) for tensor in loaded.values()})
device_argument_devices = sorted({str(tensor.device) for tensor in on_device.values()})
print(f"{tensors_in_file} tensors in {file_bytes} bytes, loaded onto {loaded_devices}")
print(f"with device={str(device)!r}: onto {device_argument_devices}")

restored = make_model().to(device)  # fresh weights and running statistics
result = restored.load_state_dict(loaded)  # copies the CPU tensors into the model, on its device
restored.eval()
with torch.no_grad():
    same_outputs = torch.equal(model(X), restored(X))
print("load_state_dict:", result, "| same outputs:", same_outputs)

# No file at all: save() returns the bytes save_file writes, load() reads them back.
data = save(state)
from_bytes = load(data)
same_bytes = data == file_content
print(f"save() gave {len(data)} bytes, the same as the file: {same_bytes}")

# With metadata, compare what the files hold, not their bytes: the header's metadata entries
# may come out in a different order from one save to the next.
metadata = {"model_class": "Sequential", "format": "pt", "n_classes": "3"}
with tempfile.TemporaryDirectory() as folder:
    from_file, from_save = Path(folder) / "from_file.safetensors", Path(folder) / "from_save"
    save_file(state, from_file, metadata=metadata)
    from_save.write_bytes(save(state, metadata=metadata))
    contents = []
    for path in (from_file, from_save):
        with safe_open(path, framework="pt") as file:
            names = file.keys()
            contents.append((file.metadata(), {key: file.get_tensor(key) for key in names}))
(metadata_a, tensors_a), (metadata_b, tensors_b) = contents
same_content = (
    metadata_a == metadata_b == metadata
    and sorted(tensors_a) == sorted(tensors_b)
    and all(torch.equal(tensors_a[key], tensors_b[key]) for key in tensors_a)
)
print("with metadata: the same metadata and tensors:", same_content)

assert sorted(loaded) == sorted(state) and tensors_in_file == 9  # witness: all-entries
assert "1.running_mean" in loaded and "1.num_batches_tracked" in loaded
assert all(torch.equal(loaded[key], state[key].cpu()) for key in state)
assert list(loaded) == header_names != list(state)  # witness: header-order
assert loaded_devices == ["cpu"]
assert all(t.device.type == device.type for t in on_device.values())
if device.type == "cuda":  # only a GPU run can show that the file does not keep the device
    assert (  # witness: cuda-loads-on-cpu
        {str(tensor.device) for tensor in state.values()} == {"cuda:0"}
        and loaded_devices == ["cpu"]
    )
    assert device_argument_devices == ["cuda:0"]  # witness: device-argument-cuda
assert (  # witness: torch-save-zip
    "data.pkl" in members and len(storage_files) == len(state) == tensors_in_file
)
assert result.missing_keys == [] and result.unexpected_keys == []
assert same_outputs  # witness: round-trip-same-outputs
assert same_bytes and all(torch.equal(from_bytes[k], loaded[k]) for k in state)  # witness: bytes
assert same_content  # witness: same-content-with-metadata

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


def header_of(content: bytes) -> dict:
    """The JSON header of safetensors bytes, its entries in the order the text lists them."""
    return json.loads(content[8 : 8 + struct.unpack("<Q", content[:8])[0]])


torch.manual_seed(0)
model = make_model().to(device)
X = torch.randn(16, 4).to(device)
model(X)  # one training-mode pass updates BatchNorm's running statistics
model.eval()
state = model.state_dict()

# For comparison, torch.save writes a zip archive: a pickle, and one file per storage's bytes,
# so an entry that views another's storage adds no file.
archived = state | {"0.weight[0]": state["0.weight"][0]}  # a tenth entry: a row of the first
archive = io.BytesIO()
torch.save(archived, archive)
with zipfile.ZipFile(archive) as opened:
    members = [name.split("/", 1)[1] for name in opened.namelist()]
storage_files = [name for name in members if name.startswith("data/")]
storages = {tensor.untyped_storage().data_ptr() for tensor in archived.values()}
print(
    f"torch.save of {len(archived)} tensors on {len(storages)} storages:",
    f"a zip archive with data.pkl and {len(storage_files)} files of raw bytes",
)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.safetensors"
    save_file(state, path)  # tensors on any device: they are copied to the file
    file_content = path.read_bytes()
    loaded = load_file(path)  # a plain dict of tensors, on the CPU unless told otherwise
    on_device = load_file(path, device=str(device))
    with safe_open(path, framework="pt") as file:
        offset_order = file.offset_keys()  # the names in the order of their data in the file

header_names = [name for name in header_of(file_content) if name != "__metadata__"]

# The same file with its header's entries listed in reverse: load_file follows the data instead.
header_length = struct.unpack("<Q", file_content[:8])[0]
reordered = json.dumps(dict(reversed(header_of(file_content).items()))).encode()
reordered += b" " * (-len(reordered) % 8)  # spaces, so that the data starts at a multiple of 8
with tempfile.TemporaryDirectory() as folder:
    reordered_path = Path(folder) / "reordered.safetensors"
    reordered_path.write_bytes(
        struct.pack("<Q", len(reordered)) + reordered + file_content[8 + header_length :]
    )
    reordered_header = list(header_of(reordered_path.read_bytes()))
    reordered_loaded = list(load_file(reordered_path))

for key in sorted(loaded):  # the keys come in the order of their data, not the state_dict's: sort
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
load_orders = {tuple(load(data)) for _ in range(20)}  # 9 keys: one order 20 times, by chance? No
print("20 calls of load(): more than one order of the keys:", len(load_orders) > 1)

# load() decodes the header with a table of its own, which lacks two of the format's dtypes.
packed = {
    "scales": torch.zeros(4, dtype=torch.float8_e8m0fnu),  # header name F8_E8M0
    "values": torch.zeros(4, 2, dtype=torch.float4_e2m1fn_x2),  # header name F4
}
load_errors, from_file_dtypes = {}, {}
with tempfile.TemporaryDirectory() as folder:
    for name, tensor in packed.items():
        try:
            load(save({name: tensor}))
            load_errors[name] = "loaded"
        except KeyError as error:
            load_errors[name] = f"KeyError: {error}"
        save_file({name: tensor}, Path(folder) / name)
        from_file_dtypes[name] = load_file(Path(folder) / name)[name].dtype
print("load():", load_errors)
print("load_file():", from_file_dtypes)

# With metadata, compare what the files hold, not their bytes: the header's metadata entries
# come out in a different order from one save to the next.
metadata = {"model_class": "Sequential", "format": "pt", "n_classes": "3"}
saves_without = {save(state) for _ in range(20)}
metadata_orders = {
    tuple(header_of(save(state, metadata=metadata))["__metadata__"]) for _ in range(20)
}
print(f"20 saves without metadata: {len(saves_without)} byte string;", end=" ")
print("with it, more than one order of the metadata entries:", len(metadata_orders) > 1)
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
assert (  # witness: header-order
    list(loaded) == offset_order == header_names != list(state)
    and reordered_header == header_names[::-1]
    and reordered_loaded == offset_order
)
assert len(load_orders) > 1  # witness: load-order-varies
assert loaded_devices == ["cpu"]
assert all(t.device.type == device.type for t in on_device.values())
if device.type == "cuda":  # only a GPU run can show that the file does not keep the device
    assert (  # witness: cuda-loads-on-cpu
        {str(tensor.device) for tensor in state.values()} == {"cuda:0"}
        and loaded_devices == ["cpu"]
    )
    assert device_argument_devices == ["cuda:0"]  # witness: device-argument-cuda
assert (  # witness: torch-save-zip
    "data.pkl" in members and len(storage_files) == len(storages) == len(archived) - 1
)
assert result.missing_keys == [] and result.unexpected_keys == []
assert same_outputs  # witness: round-trip-same-outputs
assert same_bytes and all(torch.equal(from_bytes[k], loaded[k]) for k in state)  # witness: bytes
assert same_content  # witness: same-content-with-metadata
assert len(saves_without) == 1 and len(metadata_orders) > 1  # witness: metadata-order-varies
assert (  # witness: load-lacks-packed-dtypes
    load_errors == {"scales": "KeyError: 'F8_E8M0'", "values": "KeyError: 'F4'"}
    and from_file_dtypes == {name: tensor.dtype for name, tensor in packed.items()}
)

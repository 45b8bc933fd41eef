"""Reading one tensor, or a few rows of one, from a safetensors file without loading the others."""

import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

torch.manual_seed(0)
tensors = {
    "embed.weight": torch.randn(10_000, 64),  # a vocabulary of 10,000 tokens, width 64
    "head.weight": torch.randn(10, 64),
    "head.bias": torch.zeros(10),
}

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.safetensors"
    save_file(tensors, path)
    with safe_open(path, framework="pt") as file:
        names = file.keys()
        head_weight = file.get_tensor("head.weight")  # one tensor, and no other
        embedding = file.get_slice("embed.weight")  # a handle: shape and dtype from the header
        shape, dtype = embedding.get_shape(), embedding.get_dtype()
        rows = embedding[1000:1004]  # four rows as a tensor
        mapped_storage_bytes = rows.untyped_storage().nbytes()
        rows = rows.clone()  # memory of its own, no longer tied to the file
    with safe_open(path, framework="pt", backend="pread") as file:
        read_rows = file.get_slice("embed.weight")[1000:1004]
        read_storage_bytes = read_rows.untyped_storage().nbytes()

print("names:", names)
print(f"embed.weight: shape {shape}, dtype {dtype}; rows 1000-1003 as {tuple(rows.shape)}")
print(f"storage behind the rows: {mapped_storage_bytes} bytes mapped (mmap),")
print(f"{read_storage_bytes} bytes read (pread), for {rows.numel() * rows.element_size()} bytes")
row_bytes = rows.numel() * rows.element_size()

assert names == ["embed.weight", "head.bias", "head.weight"]
assert shape == [10_000, 64] and dtype == "F32"  # witness: shape-from-header
assert torch.equal(head_weight, tensors["head.weight"])  # witness: one-tensor
assert torch.equal(rows, tensors["embed.weight"][1000:1004])  # witness: rows-equal
assert torch.equal(read_rows, rows) and rows.untyped_storage().nbytes() == row_bytes
assert mapped_storage_bytes == tensors["embed.weight"].nbytes  # witness: mmap-view
assert read_storage_bytes == row_bytes == 1024  # witness: pread-only-rows

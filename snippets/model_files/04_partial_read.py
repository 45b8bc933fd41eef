"""Reading one tensor, or a few rows of one, from a safetensors file without loading the others."""

import json
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def bytes_read_so_far() -> int | None:
    """Bytes this process has read from files so far (Linux only; None elsewhere)."""
    io_file = Path("/proc/self/io")
    if not io_file.exists():
        return None
    counters = dict(line.split(": ") for line in io_file.read_text().splitlines())
    return int(counters["rchar"])


torch.manual_seed(0)
tensors = {
    "embed.weight": torch.randn(10_000, 64),  # a vocabulary of 10,000 tokens, width 64
    "head.weight": torch.randn(10, 64),
    "head.bias": torch.zeros(10),
}
row_bytes = 4 * 64 * 4  # four rows of 64 float32 numbers

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.safetensors"
    save_file(tensors, path)
    file_before = path.read_bytes()
    header_length = struct.unpack("<Q", file_before[:8])[0]
    header = json.loads(file_before[8 : 8 + header_length])
    file_offsets = {name: entry["data_offsets"][0] for name, entry in header.items()}
    with safe_open(path, framework="pt") as file:  # the default backend: the file is mapped
        names = file.keys()
        head_weight = file.get_tensor("head.weight")  # one tensor, and no other
        embedding = file.get_slice("embed.weight")  # a handle: shape and dtype from the header
        shape, dtype = embedding.get_shape(), embedding.get_dtype()
        mapped_rows = embedding[1000:1004]  # four rows as a tensor
        whole = file.get_tensor("embed.weight")  # the whole tensor, from the same open file
        mapped_storage_bytes = mapped_rows.untyped_storage().nbytes()
        rows_in_whole = mapped_rows.untyped_storage().data_ptr() == whole.data_ptr()
        rows_offset = mapped_rows.data_ptr() - whole.data_ptr()  # bytes from the tensor's start
        rows = mapped_rows.clone()  # memory of its own, no longer tied to the file
    loaded = load_file(path)  # also mapped: each tensor sits where the file puts it
    gaps = {name: loaded[name].data_ptr() - loaded["embed.weight"].data_ptr() for name in names}
    loaded["head.bias"].add_(1.0)  # a private mapping: the change stays in this process
    file_unchanged = path.read_bytes() == file_before
    with safe_open(path, framework="pt", backend="pread") as file:
        before = bytes_read_so_far()
        read_rows = file.get_slice("embed.weight")[1000:1004]
        after = bytes_read_so_far()
    read_storage_bytes = read_rows.untyped_storage().nbytes()
    read_for_rows = None if before is None else after - before

print("names:", names)
print(f"embed.weight: shape {shape}, dtype {dtype}; rows 1000-1003 as {tuple(rows.shape)}")
print(f"mmap: the rows start {rows_offset} bytes into a {mapped_storage_bytes}-byte storage")
print("load_file: tensors at byte offsets", gaps, "of one mapping")
print(f"pread: a tensor owning {read_storage_bytes} bytes, the {row_bytes} bytes of the rows")
if read_for_rows is not None:  # Linux: the process's count of bytes read from files
    how_much = "the whole" if read_for_rows >= tensors["embed.weight"].nbytes else "part of"
    print(f"pread read {how_much} embed.weight, {tensors['embed.weight'].nbytes} bytes, for them")

assert names == ["embed.weight", "head.bias", "head.weight"]
assert shape == [10_000, 64] and dtype == "F32"  # witness: shape-from-header
assert torch.equal(head_weight, tensors["head.weight"])  # witness: one-tensor
assert torch.equal(rows, tensors["embed.weight"][1000:1004])  # witness: rows-equal
assert torch.equal(read_rows, rows) and rows.untyped_storage().nbytes() == row_bytes
assert (  # witness: mmap-view
    rows_in_whole
    and rows_offset == 1000 * 64 * 4
    and mapped_storage_bytes == tensors["embed.weight"].nbytes
)
assert gaps == file_offsets and len(set(gaps.values())) == 3  # witness: load-file-mapped
assert file_unchanged and loaded["head.bias"].sum() == 10  # witness: private-mapping
assert (  # witness: pread-own-rows
    read_storage_bytes == row_bytes == 1024
    and read_rows.data_ptr() == read_rows.untyped_storage().data_ptr()
    and torch.equal(read_rows, tensors["embed.weight"][1000:1004])
)
assert read_for_rows is None or read_for_rows >= 2_560_000  # witness: pread-reads-whole

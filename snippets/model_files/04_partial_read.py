"""Reading one tensor, or a few rows of one, from a safetensors file without loading the others."""
# guide: timeout=30

import contextlib
import json
import mmap
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn


def bytes_read_so_far() -> int | None:
    """Bytes this process has read from files so far (Linux only; None elsewhere)."""
    io_file = Path("/proc/self/io")
    if not io_file.exists():
        return None
    counters = dict(line.split(": ") for line in io_file.read_text().splitlines())
    return int(counters["rchar"])


def file_mapping(tensor: torch.Tensor, path: Path) -> str | None:
    """The permissions of the mapping of `path` that holds the tensor's first byte, such as
    "rw-p" (p: private), or None if no mapping of that file holds it (Linux only)."""
    address, target = tensor.data_ptr(), os.path.realpath(path)
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)  # range, permissions, offset, device, inode, path
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        if len(fields) == 6 and fields[5] == target and start <= address < end:
            return fields[1]
    return None


def pages_in_memory(tensor: torch.Tensor) -> tuple[int, int]:
    """How many of the pages under the tensor's bytes this process has mapped in, and of how
    many (Linux: bit 63, "present", of each page's 8-byte entry in /proc/self/pagemap)."""
    first = tensor.data_ptr() // page
    count = (tensor.data_ptr() + tensor.nbytes - 1) // page - first + 1
    with open("/proc/self/pagemap", "rb") as pagemap:
        pagemap.seek(8 * first)
        entries = struct.unpack(f"<{count}Q", pagemap.read(8 * count))
    return sum(entry >> 63 for entry in entries), count


@contextlib.contextmanager
def umask(mask: int):
    """Run a block under the given umask, and put the old one back after it, even on an error."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# A child process that loads a file, cuts the file short, then touches the lost pages.
TOUCH_AFTER_CUT = """
import os, resource, sys
from safetensors.torch import load_file
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash, but no core file
loaded = load_file(sys.argv[1])
os.truncate(sys.argv[1], 8)
print(loaded["t"].sum())
"""

on_linux = Path("/proc/self/maps").exists()  # where the process's mappings can be listed
torch.manual_seed(0)
tensors = {
    "embed.weight": torch.randn(10_000, 64),  # a vocabulary of 10,000 tokens, width 64
    "head.weight": torch.randn(10_000, 64),  # an output layer as large, not tied to it
    "head.bias": torch.zeros(10_000),
}
row_bytes = 4 * 64 * 4  # four rows of 64 float32 numbers
page = mmap.PAGESIZE  # the size of a page of memory, 4096 bytes on most machines

# Under umask 022, open() makes new files 644 (rw-r--r--).
with umask(0o022), tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.safetensors"
    save_file(tensors, path)
    first_mode = stat.S_IMODE(path.stat().st_mode)  # the permissions save_file gave it
    plain = Path(folder) / "plain.txt"
    plain.write_text("a file made by open()")
    plain_mode = stat.S_IMODE(plain.stat().st_mode)  # what the umask gives
    with umask(0o277):  # stricter: 400
        save_file({"t": torch.zeros(1)}, strict := path.with_name("strict.safetensors"))
    strict_mode = stat.S_IMODE(strict.stat().st_mode)
    file_before = path.read_bytes()
    file_size = len(file_before)
    header_length = struct.unpack("<Q", file_before[:8])[0]
    header = json.loads(file_before[8 : 8 + header_length])
    file_offsets = {name: entry["data_offsets"][0] for name, entry in header.items()}
    with safe_open(path, framework="pt") as file:  # the default backend: the file is mapped
        names = file.keys()
        head_bias = file.get_tensor("head.bias")  # one tensor, and no other
        embedding = file.get_slice("embed.weight")  # a handle: shape and dtype from the header
        shape, dtype = embedding.get_shape(), embedding.get_dtype()
        mapped_rows = embedding[1000:1004]  # four rows as a tensor
        mmap_takes = [embedding[-4:].shape[0], embedding[[1000, 1003]].shape[0]]  # 4 and 2 rows
        whole = file.get_tensor("embed.weight")  # the whole tensor, from the same open file
        other_views = {embedding[i].untyped_storage().data_ptr() for i in (3, slice(0, 8, 2))}
        mapped_storage_bytes = mapped_rows.untyped_storage().nbytes()
        rows_in_whole = mapped_rows.untyped_storage().data_ptr() == whole.data_ptr()
        rows_offset = mapped_rows.data_ptr() - whole.data_ptr()  # bytes from the tensor's start
        rows = mapped_rows.clone()  # memory of its own, no longer tied to the file
        get_tensor_mapping = file_mapping(whole, path) if on_linux else None

    loaded = load_file(path)  # also mapped: each tensor sits where the file puts it
    gaps = {name: loaded[name].data_ptr() - loaded["embed.weight"].data_ptr() for name in names}
    load_file_mappings = {file_mapping(t, path) for t in loaded.values()} if on_linux else None
    if on_linux:  # head.weight's pages in memory: before a read, after one number, after all
        in_before, head_pages = pages_in_memory(loaded["head.weight"])
        loaded["head.weight"][5000, 0].item()  # one number, 4 bytes, in the middle of the tensor
        in_after_one = pages_in_memory(loaded["head.weight"])[0]
        loaded["head.weight"].sum()
        in_after_sum = pages_in_memory(loaded["head.weight"])[0]
    loaded["head.bias"].add_(1.0)  # a private mapping: the change stays in this process
    bias_changed = loaded["head.bias"].sum().item() == 10_000
    file_unchanged = path.read_bytes() == file_before
    bias_mapping = file_mapping(loaded["head.bias"], path) if on_linux else None

    # The other way round: a write into the file shows in a kept tensor that still maps it.
    kept, own_copy = loaded["embed.weight"], loaded["embed.weight"].clone()
    with open(path, "r+b") as writer:
        writer.seek(8 + header_length + file_offsets["embed.weight"] + 5000 * 64 * 4)
        writer.write(struct.pack("<f", 100.0))  # element [5000, 0]; randn never gives 100
    kept_sees_write = kept[5000, 0].item() == 100.0
    copy_unchanged = torch.equal(own_copy, tensors["embed.weight"])
    # save_file onto the same path writes a new file: the kept tensor maps the old one.
    inode_before, value_before = path.stat().st_ino, kept[5000, 0].item()
    path.chmod(0o644)  # the old file: readable by everyone
    save_file(tensors, path)  # the saved numbers again: element [5000, 0] is not 100 there
    new_file = path.stat().st_ino != inode_before
    new_mode = stat.S_IMODE(path.stat().st_mode)  # the new file's permissions
    kept_after_save_file = kept[5000, 0].item()

    # load_state_dict(..., assign=True) keeps the file's tensors instead of copying them.
    with torch.device("meta"):  # a layer with no memory, to be given the file's
        head = nn.Linear(64, 10_000)
    meta_weight = head.weight
    head.load_state_dict(
        {"weight": loaded["head.weight"], "bias": loaded["head.bias"]}, assign=True
    )
    head_in_file = head.weight.data_ptr() == loaded["head.weight"].data_ptr()
    new_parameter = isinstance(head.weight, nn.Parameter) and head.weight is not meta_weight
    # The default, assign=False, copies the file's tensors into the layer's own memory.
    copied = nn.Linear(64, 10_000)
    own_memory = copied.weight.data_ptr()
    copied.load_state_dict({"weight": loaded["head.weight"], "bias": loaded["head.bias"]})
    copied_in_place = copied.weight.data_ptr() == own_memory
    copied_out_of_file = copied.weight.data_ptr() != loaded["head.weight"].data_ptr()
    copied_values = torch.equal(copied.weight, loaded["head.weight"])

    with safe_open(path, framework="pt", backend="pread") as file:
        before = bytes_read_so_far()
        read_rows = file.get_slice("embed.weight")[1000:1004]
        after = bytes_read_so_far()
        pread_refusals = {}  # indexes the mmap backend takes, and pread does not
        for shown, index in (("[-4:]", slice(-4, None)), ("[[1000, 1003]]", [1000, 1003])):
            try:
                file.get_slice("embed.weight")[index]
                pread_refusals[shown] = "read"
            except (OverflowError, SafetensorError) as error:
                pread_refusals[shown] = type(error).__name__
    read_storage_bytes = read_rows.untyped_storage().nbytes()
    read_for_rows = None if before is None else after - before

    if on_linux:  # in a process of its own, since it does not survive
        cut_path = Path(folder) / "cut.safetensors"
        save_file({"t": torch.zeros(100_000)}, cut_path)
        child = [sys.executable, "-c", TOUCH_AFTER_CUT, str(cut_path)]
        cut = subprocess.run(child, cwd=folder, capture_output=True, text=True)

print("names:", names)
print(f"embed.weight: shape {shape}, dtype {dtype}; rows 1000-1003 as {tuple(rows.shape)}")
print(f"mmap: the rows start {rows_offset} bytes into a {mapped_storage_bytes}-byte storage")
print("load_file: tensors at byte offsets", gaps, "of one mapping")
if on_linux:  # /proc/self/maps: the tensors' memory is a mapping of the file
    print("the file's mapping holding them:", get_tensor_mapping, load_file_mappings)
    print(f"head.weight's {head_pages} pages mapped in: under half before a read:", end=" ")
    print(in_before < head_pages / 2, "| one number brings in more than one:", end=" ")
    print(in_after_one - in_before > 1, "| all in after sum():", in_after_sum == head_pages)
print("after a write into the file: the kept tensor shows it:", kept_sees_write)
print("after save_file onto the path: a new file:", new_file, "| kept:", kept_after_save_file)
if on_linux:  # POSIX permissions
    print(f"save_file's modes: {first_mode:o} for a first file,", end=" ")
    print(f"{new_mode:o} over a file made 644; open() under the same umask: {plain_mode:o}")
print("assign=True: the layer's weight is the mapped tensor:", head_in_file, end=" | ")
print("default: copied into the layer's own memory:", copied_in_place and copied_out_of_file)
print(f"pread: a tensor owning {read_storage_bytes} bytes, the {row_bytes} bytes of the rows")
print("pread refuses:", pread_refusals)
if read_for_rows is not None:  # Linux: the process's count of bytes read from files
    whole_tensor = read_for_rows >= tensors["embed.weight"].nbytes
    print(f"pread read {'all' if whole_tensor else 'part'} of embed.weight for them,", end=" ")
    print(f"{'less' if read_for_rows < file_size // 2 else 'more'} than half the file")
if on_linux:
    print("a child touching its tensor after the file was cut: killed by", end=" ")
    print(signal.Signals(-cut.returncode).name if cut.returncode < 0 else cut.returncode)

embed_bytes = tensors["embed.weight"].nbytes
assert names == ["embed.weight", "head.bias", "head.weight"]
assert shape == [10_000, 64] and dtype == "F32"  # witness: shape-from-header
assert torch.equal(head_bias, tensors["head.bias"])  # witness: one-tensor
assert torch.equal(rows, tensors["embed.weight"][1000:1004])  # witness: rows-equal
assert torch.equal(read_rows, rows) and rows.untyped_storage().nbytes() == row_bytes
assert (  # witness: mmap-view
    rows_in_whole
    and rows_offset == 1000 * 64 * 4
    and mapped_storage_bytes == embed_bytes
    and other_views == {whole.data_ptr()}
)
assert gaps == file_offsets and len(set(gaps.values())) == 3  # witness: load-file-mapped
if on_linux:  # the memory is the file's, mapped privately ("p"), not a buffer read into
    assert get_tensor_mapping is not None and get_tensor_mapping.endswith("p")  # witness: mapped
    assert load_file_mappings == {get_tensor_mapping}  # witness: load-file-maps
    # On first touch: one number brings pages in (how many depends on the kernel), sum() all.
    assert (  # witness: pages-on-touch
        in_before < head_pages / 2 and in_after_one > in_before and in_after_sum == head_pages
    )
assert (  # witness: private-mapping
    file_unchanged and bias_changed and (not on_linux or bias_mapping == "rw-p")
)
if on_linux:  # what writes to the file do, checked where the page says: on Linux
    assert kept_sees_write and copy_unchanged  # witness: file-writes-show
    assert cut.returncode == -signal.SIGBUS and cut.stdout == ""  # witness: sigbus
    assert new_file and kept_after_save_file == value_before  # witness: save-file-new-file
    owner_only = first_mode == new_mode == 0o600 and strict_mode == 0o400
    assert owner_only and plain_mode == 0o644  # witness: save-file-owner-only
assert mmap_takes == [4, 2] and pread_refusals == {  # witness: pread-basic-indexing
    "[-4:]": "OverflowError",
    "[[1000, 1003]]": "SafetensorError",
}
assert head_in_file and new_parameter  # witness: assign-keeps-mapping
copies = copied_in_place and copied_out_of_file and copied_values
assert copies  # witness: assign-false-copies
assert (  # witness: pread-own-rows
    read_storage_bytes == row_bytes == 1024
    and read_rows.data_ptr() == read_rows.untyped_storage().data_ptr()
    and torch.equal(read_rows, tensors["embed.weight"][1000:1004])
)
# At least the whole of embed.weight is read, and less than the file (head.weight is as large).
assert read_for_rows is None or (  # witness: pread-reads-whole
    embed_bytes <= read_for_rows < 2 * embed_bytes < file_size
)

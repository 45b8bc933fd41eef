"""Save on 2 ranks, then load the checkpoint into a plain model in one process: DCP reshards.

Run: torchrun --nproc-per-node 2 snippets/dcp/02_load_one_process.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
import unittest.mock
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

local_rank = int(os.environ["LOCAL_RANK"])
use_gpus = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_gpus else torch.device("cpu")
if use_gpus:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_gpus else "gloo")
# Without a mesh, fully_shard picks the accelerator torch finds, even with fewer GPUs than
# ranks, where this script uses gloo on the CPU: name the device this process group uses.
mesh = init_device_mesh(device.type, (dist.get_world_size(),))
rank = dist.get_rank()


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))


def load_and_record_reads(state: dict, folder: Path) -> list[tuple]:
    """dcp.load, noting each record the file reader torch.loads: (name, offset), shape, location."""
    chunks, records, real_load = [], [], torch.load

    def spy(*args, **kwargs):  # only to watch the reader; not needed to load
        record = real_load(*args, **kwargs)
        records.append((tuple(record.shape), kwargs.get("map_location")))
        return record

    class NoteChunks(dcp.DefaultLoadPlanner):  # the default planner, noting which saved chunk
        def resolve_tensor(self, read_item):  # each record just read is
            chunks.append((read_item.storage_index.fqn, tuple(read_item.storage_index.offset)))
            return super().resolve_tensor(read_item)

    with unittest.mock.patch("torch.load", spy):
        dcp.load(state, checkpoint_id=folder, planner=NoteChunks())
    return [(chunk, *record) for chunk, record in zip(chunks, records, strict=True)]


torch.manual_seed(0)
sharded = build_model().to(device)
for layer in (sharded[0], sharded[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(sharded, mesh=mesh)

shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])
dcp.save(sharded.state_dict(), checkpoint_id=folder)

# What was saved, gathered whole (a collective), to compare with what one process loads.
saved = {name: tensor.full_tensor().cpu() for name, tensor in sharded.state_dict().items()}
x = torch.randn(4, 10)
with torch.no_grad():
    saved_output = sharded(x.to(device)).cpu()

dist.barrier()
dist.destroy_process_group()  # from here on, rank 0 is a lone process with no process group

if rank == 0:
    torch.manual_seed(1)  # another seed: different weights until the load
    plain = build_model()  # an ordinary model on the CPU: no sharding, no DTensor
    differs_before = not torch.equal(plain[0].weight.detach(), saved["0.weight"])

    state = plain.state_dict()  # plain tensors: DCP fills them in place with whole tensors
    tensors_before = dict(state)  # the tensor objects themselves, to compare after the load
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reads = load_and_record_reads(state, folder)
        as_bf16 = {"0.weight": torch.zeros(8, 10, dtype=torch.bfloat16)}  # another dtype
        dcp.load(as_bf16, checkpoint_id=folder)
        as_int = {"0.weight": torch.full((8, 10), -1)}  # int64; -1, so a 0 is a loaded value
        dcp.load(as_int, checkpoint_id=folder)
    filled_in_place = torch.equal(plain[0].weight.detach(), saved["0.weight"])
    plain.load_state_dict(state)  # as the DCP docs ask: let the module see its state_dict
    metadata = dcp.FileSystemReader(folder).read_metadata().state_dict_metadata
    saved_chunks = {  # each chunk the ranks saved, by (name, offset): its shape
        (name, tuple(chunk.offsets)): tuple(chunk.sizes)
        for name, entry in metadata.items()
        for chunk in entry.chunks
    }
    # Which values DCP splits into entries of their own, and which it stores whole as bytes.
    one = torch.ones(1)
    kinds = {"dict": {"a": one}, "list": [one], "list_of_dicts": [{"a": one}], "nested": [[one]]}
    kinds |= {"tuple": (one,), "list_of_tuples": [(one,)], "tuple_of_lists": ([one],)}
    kinds |= {"empty": {}, "list_of_empty": [{}]}  # nothing to split: no entry at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same one-process warning, for a save this time
        dcp.save(kinds, checkpoint_id=folder / "kinds")
    kind_md = dcp.FileSystemReader(folder / "kinds").read_metadata().state_dict_metadata
    split = sorted(k for k, v in kind_md.items() if isinstance(v, dcp.TensorStorageMetadata))
    as_bytes = sorted(k for k, v in kind_md.items() if isinstance(v, dcp.BytesStorageMetadata))
    print("split into entries:", split, "stored as bytes:", as_bytes)
    split_as_shown = split == ["dict.a", "list.0", "list_of_dicts.0.a", "nested.0.0"]
    split_as_shown = split_as_shown and as_bytes == ["list_of_tuples", "tuple", "tuple_of_lists"]
    split_as_shown = split_as_shown and not any(key.startswith("empty") for key in kind_md)
    split_as_shown = split_as_shown and not any(key.startswith("list_of_empty") for key in kind_md)
    shutil.rmtree(folder)
    warning_text = str(caught[0].message)
    print("dcp.load warned:", warning_text)
    records_read = len(reads)
    print(f"records read: {records_read}, each a whole saved chunk, onto the CPU:")
    for (name, offset), shape, _ in reads:
        print(f"    {name:8} from row {offset[0]}: {shape}")

    loaded = plain.state_dict()
    all_plain = all(  # DCP filled the dictionary's own plain tensors, and replaced none
        state[name] is tensor and type(tensor) is torch.Tensor
        for name, tensor in tensors_before.items()
    )
    equal_tensors = sum(torch.equal(loaded[name], saved[name]) for name in saved)
    max_abs_difference = max((loaded[name] - saved[name]).abs().max().item() for name in saved)
    for name, tensor in loaded.items():
        print(f"{name:8} {str(tuple(tensor.shape)):7} {type(tensor).__name__}")
    print(f"equal to the saved tensors: {equal_tensors} of {len(saved)}")
    print(f"largest absolute difference: {max_abs_difference}")
    bf16_weight = as_bf16["0.weight"]  # torch.equal ignores dtypes: check it apart
    cast = bf16_weight.dtype == torch.bfloat16
    cast = cast and torch.equal(bf16_weight, saved["0.weight"].to(torch.bfloat16))
    int_weight = as_int["0.weight"]  # every weight here is under 1 in size: all zeros, not -1
    truncated = int_weight.dtype == torch.int64 and not int_weight.any()
    truncated = truncated and torch.equal(int_weight, saved["0.weight"].to(torch.int64))
    warned = sorted({str(w.message) for w in caught})  # the same warning from both loads
    print("loaded into bfloat16, equal to the saved weight cast to bfloat16:", cast)
    print("loaded into int64, all zeros, as the saved weight cast to int64:", truncated)
    print(f"other warnings: {len(warned) - 1}")
    with torch.no_grad():
        outputs_agree = torch.allclose(plain(x), saved_output, atol=1e-6)
    print("the plain model's outputs match the sharded model's:", outputs_agree)

    assert differs_before  # witness: differs-before-load
    assert (
        "assuming the intent is to load in a single process" in warning_text
    )  # witness: warns-one-process
    assert filled_in_place  # witness: filled-in-place
    each_once = sorted(chunk for chunk, _, _ in reads) == sorted(saved_chunks)
    whole = all(shape == saved_chunks[chunk] for chunk, shape, _ in reads)
    assert each_once and whole  # witness: reads-every-chunk
    assert len(saved_chunks) == 8
    assert all(location == "cpu" for _, _, location in reads)  # witness: records-onto-cpu
    assert all_plain  # witness: plain-tensors
    assert equal_tensors == len(saved) == 4  # witness: loaded-equals-saved
    assert max_abs_difference == 0.0
    assert outputs_agree  # witness: outputs-agree
    assert cast and truncated and warned == [warning_text]  # witness: casts-quietly
    assert split_as_shown  # witness: what-is-split

"""Save a model sharded over 2 ranks with torch.distributed.checkpoint: a folder, one file per rank.

Run: torchrun --nproc-per-node 2 snippets/dcp/01_save_folder.py
"""

# guide: ranks=2

import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor

local_rank = int(os.environ["LOCAL_RANK"])
use_gpus = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_gpus else torch.device("cpu")
if use_gpus:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_gpus else "gloo")
# Without a mesh, fully_shard picks a GPU whenever torch finds one, even with fewer GPUs than
# ranks, where this script uses gloo on the CPU: name the device this process group uses.
mesh = init_device_mesh(device.type, (dist.get_world_size(),))
rank, world_size = dist.get_rank(), dist.get_world_size()

torch.manual_seed(0)  # the same seed on every rank: the same full model before sharding
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)

state = model.state_dict()  # DTensors: each rank holds its own rows of every tensor
local_numel = sum(tensor.to_local().numel() for tensor in state.values())
print(f"holds {local_numel} of the model's numbers, as {type(state['0.weight']).__name__}s")

# A folder every rank can reach (all on one machine here; across machines, a shared
# filesystem): made on rank 0, its path sent to the others.
shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])

dcp.save(state, checkpoint_id=folder)  # every rank calls it, with its own shards

full_first_weight = state["0.weight"].full_tensor().cpu()  # a collective: every rank joins
numel_by_rank = [0] * world_size
dist.all_gather_object(numel_by_rank, local_numel)

if rank == 0:
    files = sorted(path.name for path in folder.iterdir())
    print("the folder holds:", ", ".join(files))
    file_names = ", ".join(files)
    rank_files = [name for name in files if name.endswith(".distcp")]

    # The metadata file says which rows of which tensor lie where.
    metadata = dcp.FileSystemReader(folder).read_metadata()
    weight_entry = metadata.state_dict_metadata["0.weight"]
    global_shape = tuple(weight_entry.size)
    chunk_shapes = [tuple(chunk.sizes) for chunk in weight_entry.chunks]
    chunk_rows = [chunk.offsets[0] for chunk in weight_entry.chunks]
    chunk_shape = chunk_shapes[0]
    print(f"0.weight: full shape {global_shape}, stored as chunks {chunk_shapes}")
    print(f"          starting at rows {chunk_rows}")

    numel_by_file = dict.fromkeys(rank_files, 0)
    where = {}
    for index, info in metadata.storage_data.items():
        entry = metadata.state_dict_metadata[index.fqn]
        chunk = next(c for c in entry.chunks if c.offsets == index.offset)
        numel_by_file[info.relative_path] += chunk.sizes.numel()
        where[(index.fqn, tuple(index.offset))] = info
    for name, count in numel_by_file.items():
        print(f"{name}: {count} numbers")
    rank0_file_numel = numel_by_file["__0_0.distcp"]
    rank1_file_numel = numel_by_file["__1_0.distcp"]

    # Read rank 1's chunk of 0.weight straight from rank 1's file.
    info = where[("0.weight", (4, 0))]
    with open(folder / info.relative_path, "rb") as stream:
        stream.seek(info.offset)
        record = stream.read(info.length)

    chunk_from_file = torch.load(io.BytesIO(record), weights_only=True)
    print(
        f"rows 4-7 of 0.weight, read from {info.relative_path}: shape", tuple(chunk_from_file.shape)
    )

# Entries that every rank holds whole (plain tensors) are written once. Here each rank puts
# its own rank number in a, b and c, under the same keys, to show whose copy DCP keeps.
abc = ("a", "b", "c")
whole = {name: torch.tensor([rank], device=device) for name in abc}
# A value that really differs per rank: gathered, so every rank holds every rank's, same keys.
seed_here = torch.tensor([100 + rank], device=device)  # say, the seed this rank drew
seeds = [torch.empty_like(seed_here) for _ in range(world_size)]
dist.all_gather(seeds, seed_here)
whole |= {f"seed.{r}": seed for r, seed in enumerate(seeds)}
wrote_metadata = []


class NoteMetadata(dcp.FileSystemWriter):  # the default writer, noting who writes .metadata
    def finish(self, *args, **kwargs):  # runs where .metadata is written
        wrote_metadata.append(rank)
        return super().finish(*args, **kwargs)


with warnings.catch_warnings(record=True) as caught:  # a, b and c differ between ranks
    warnings.simplefilter("always")
    dcp.save(whole, storage_writer=NoteMetadata(folder / "whole", thread_count=3))
# The usual case: a, b, c saved in the same dcp.save as the model, after its shards.
together = state | {name: whole[name] for name in abc}
dcp.save(together, checkpoint_id=folder / "together")
# A large entry, then two small ones (keys that sort before it), held by both ranks; rank 1
# lists them in another order.
table = torch.zeros(1000, dtype=torch.int64, device=device)  # 8000 bytes; s1 and s2, 8 each
sized = {"table": table, "s1": whole["a"], "s2": whole["b"]}
if rank == 1:
    sized = {"s1": whole["a"], "s2": whole["b"], "table": table}
dcp.save(sized, storage_writer=dcp.FileSystemWriter(folder / "sized", single_file_per_rank=False))
lowest_first = dcp.DefaultSavePlanner(dedup_save_to_lowest_rank=True)  # every copy to rank 0
dcp.save(sized, checkpoint_id=folder / "lowest", planner=lowest_first)
own = {f"own.{rank}": whole["a"]}  # a key only this rank has: it works here, but is unsupported
dcp.save(own, checkpoint_id=folder / "own")
if rank == 1:  # a save by this process alone, in which it is rank 0
    with warnings.catch_warnings():  # not "assuming ... to save in a single process"
        warnings.simplefilter("ignore")
        dcp.save({"a": whole["a"]}, checkpoint_id=folder / "alone", no_dist=True)


def load_back(path, names):  # every rank asks for every entry named, each one int64 number
    back = {name: torch.zeros_like(whole["a"]) for name in names}
    dcp.load(back, checkpoint_id=path)
    return {name: value.item() for name, value in back.items()}


def writers(path):  # the rank whose file holds each whole entry: the digit after "__"
    records = dcp.FileSystemReader(path).read_metadata().storage_data.items()
    by_rank = [(i.fqn, int(at.relative_path.split("_")[2])) for i, at in records]
    return dict(sorted((name, r) for name, r in by_rank if name not in state))


loaded_whole = load_back(folder / "whole", whole)
loaded_together = load_back(folder / "together", abc)
loaded_sized = load_back(folder / "sized", ("s1", "s2"))
loaded_lowest = load_back(folder / "lowest", ("s1", "s2"))
loaded_own = load_back(folder / "own", own)
whole_values = ", ".join(str(loaded_whole[name]) for name in abc)
together_values = ", ".join(str(loaded_together[name]) for name in abc)
sized_values = f"{loaded_sized['s1']}, {loaded_sized['s2']}"
lowest_values = f"{loaded_lowest['s1']}, {loaded_lowest['s2']}"
seeds_back = [loaded_whole[f"seed.{r}"] for r in range(world_size)]
print(f"loads a, b, c as {whole_values}, and the seeds as {seeds_back}")
print(f"saved after the model's shards, a, b, c load as {together_values}")
print(f"s1, s2 load as {sized_values}; with dedup_save_to_lowest_rank=True as {lowest_values}")
print("a key only this rank has, loaded back:", loaded_own)
if rank == 0:
    whole_metadata = dcp.FileSystemReader(folder / "whole").read_metadata()
    writer_of = writers(folder / "whole")
    together_writer_of = writers(folder / "together")
    sized_writer_of = writers(folder / "sized")
    alone_files = ", ".join(sorted(path.name for path in (folder / "alone").iterdir()))
    sized_files = ", ".join(sorted(path.name for path in (folder / "sized").iterdir()))
    sizes = {path.name: path.stat().st_size for path in (folder / "whole").glob("*.distcp")}
    recorded = dict.fromkeys(sizes, 0)  # the bytes the metadata's records account for, by file
    for record_info in whole_metadata.storage_data.values():
        recorded[record_info.relative_path] += record_info.length
    empty_files = sorted(name for name, size in sizes.items() if size == 0)
    empty_names = ", ".join(empty_files)
    rank1_entries = list(writer_of.values()).count(1)
    print("entries every rank holds whole, one record each, by rank:", writer_of)
    print("the same a, b, c saved after the model's shards, by rank:", together_writer_of)
    print("one large entry, then two small ones, by rank:", sized_writer_of)
    print("with single_file_per_rank=False, that folder holds:", sized_files)
    print(f"with thread_count=3: {len(sizes)} data files, empty ones: {empty_names}")
    print(f"bytes in the files {sum(sizes.values())}, in the records {sum(recorded.values())}")

dist.barrier()  # nobody uses the folder any more
if rank == 0:
    shutil.rmtree(folder)
    assert file_names == ".metadata, __0_0.distcp, __1_0.distcp"
    assert len(rank_files) == world_size  # witness: one-file-per-rank
    assert chunk_shapes == [(4, 10), (4, 10)] and chunk_rows == [0, 4]  # witness: metadata-shapes
    assert global_shape == (8, 10)
    model_float = all(
        metadata.state_dict_metadata[n].properties.dtype == torch.float32 for n in state
    )
    abc_int = all(
        whole_metadata.state_dict_metadata[n].properties.dtype == torch.int64 for n in abc
    )
    assert model_float and abc_int  # witness: metadata-dtype
    written = [numel_by_file[f"__{r}_0.distcp"] for r in range(world_size)]
    assert written == numel_by_rank  # witness: file-holds-own-shards
    assert (rank0_file_numel, rank1_file_numel) == (62, 53)
    assert info.relative_path == "__1_0.distcp"
    assert torch.equal(chunk_from_file, full_first_weight[4:8])  # witness: file-holds-rows
    # A second copy of an entry would lie in a file without a record of its own (the
    # metadata keeps one record per entry): the files would hold more bytes than recorded.
    once = recorded == sizes and sorted(writer_of) == sorted(whole)
    assert once and set(writer_of.values()) == set(range(world_size))  # witness: whole-written-once
    three_each = sorted(sizes) == [f"__{r}_{n}.distcp" for r in range(world_size) for n in range(3)]
    assert three_each and empty_files == ["__1_2.distcp"]  # witness: threads-files
    assert rank1_entries == 2
    # Fewest bytes so far, in rank 0's order: a tie (nothing planned) gives table to rank 0,
    # then s1 and s2 go to rank 1. In rank 1's order (or sorted key order), s1 would go to
    # rank 0; counting entries instead of bytes, s2 would.
    by_bytes = sized_writer_of == {"s1": 1, "s2": 1, "table": 0}
    in_whole = writer_of == {"a": 0, "b": 1, "c": 0, "seed.0": 1, "seed.1": 0}
    assert by_bytes and in_whole  # witness: one-copy-per-entry
    assert alone_files == ".metadata, __0_0.distcp"  # witness: numbered-within-save
    files_by_record = ".metadata, __0_0.distcp, __1_0.distcp, __1_1.distcp"
    assert sized_files == files_by_record  # witness: file-per-record
    from_rank1 = all(loaded_together[name] == together_writer_of[name] == 1 for name in abc)
    assert from_rank1 and together_values == "1, 1, 1"  # witness: order-decides
assert seeds_back == [100 + r for r in range(world_size)]  # witness: seeds-kept
assert loaded_own == {f"own.{rank}": rank}  # witness: own-keys-load
# No warning, no error, and the loaded a, b, c are copies from different ranks.
assert caught == [] and whole_values == "0, 1, 0"  # witness: no-compare
assert wrote_metadata == ([0] if rank == 0 else [])  # witness: rank0-writes-metadata
assert sized_values == "1, 1" and lowest_values == "0, 0"  # witness: lowest-rank-option
assert isinstance(state["0.weight"], DTensor)
dist.destroy_process_group()

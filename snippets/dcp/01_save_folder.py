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
# Without a mesh, fully_shard picks the accelerator torch finds, even with fewer GPUs than
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
# filesystem): made on rank 0, its path sent to the others. Each checkpoint is a folder in it.
shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
root = Path(shared[0])
folder = root / "model"

dcp.save(state, checkpoint_id=folder)  # every rank calls it, with its own shards

full_first_weight = state["0.weight"].full_tensor().cpu()  # a collective: every rank joins
shards_by_rank = [None] * world_size  # every rank's own shards, to compare with the files
dist.all_gather_object(shards_by_rank, {name: t.to_local().cpu() for name, t in state.items()})


def bytes_by_file(path):  # bytes in each data file, and the bytes the metadata's records give it
    sizes = {file.name: file.stat().st_size for file in path.glob("*.distcp")}
    recorded = dict.fromkeys(sizes, 0)
    for info in dcp.FileSystemReader(path).read_metadata().storage_data.values():
        recorded[info.relative_path] += info.length
    return sizes, recorded


if rank == 0:
    files = sorted(path.name for path in folder.iterdir())
    file_names = ", ".join(files)
    print("the folder holds:", file_names)
    rank_files = [name for name in files if name.endswith(".distcp")]

    # The metadata file says which rows of which tensor lie where.
    metadata = dcp.FileSystemReader(folder).read_metadata()
    weight_entry = metadata.state_dict_metadata["0.weight"]
    global_shape = tuple(weight_entry.size)
    chunk_shapes = [tuple(chunk.sizes) for chunk in weight_entry.chunks]
    chunk_rows = [chunk.offsets[0] for chunk in weight_entry.chunks]
    print(f"0.weight: full shape {global_shape}, stored as chunks {chunk_shapes}")
    print(f"          starting at rows {chunk_rows}")

    # Read every record straight from the file and byte range the metadata gives for it.
    records = []  # (file, entry, the tensor read)
    for index, info in metadata.storage_data.items():
        with open(folder / info.relative_path, "rb") as stream:
            stream.seek(info.offset)
            record = stream.read(info.length)
        chunk = torch.load(io.BytesIO(record), weights_only=True)
        records.append((info.relative_path, index.fqn, chunk))
    numel_by_file = dict.fromkeys(rank_files, 0)
    for name, _, chunk in records:
        numel_by_file[name] += chunk.numel()
    for name, count in numel_by_file.items():
        print(f"{name}: {count} numbers")
    rank0_file_numel = numel_by_file["__0_0.distcp"]
    rank1_file_numel = numel_by_file["__1_0.distcp"]
    chunk_from_file = next(c for f, n, c in records if (f, n) == ("__1_0.distcp", "0.weight"))
    print("rows 4-7 of 0.weight, read from __1_0.distcp: shape", tuple(chunk_from_file.shape))
    model_sizes, model_recorded = bytes_by_file(folder)


def holds_exactly(file_name, shards):  # the file's records are these shards, each once
    mine = [(name, chunk) for f, name, chunk in records if f == file_name]
    same_names = sorted(name for name, _ in mine) == sorted(shards)
    return same_names and all(torch.equal(chunk, shards[name]) for name, chunk in mine)


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
    dcp.save(whole, storage_writer=NoteMetadata(root / "whole"))
# The usual case: a, b, c saved in the same dcp.save as the model, after its shards; then the
# same entries before its shards.
dcp.save(state | {name: whole[name] for name in abc}, checkpoint_id=root / "together")
dcp.save({name: whole[name] for name in abc} | state, checkpoint_id=root / "before")
lowest = dcp.DefaultSavePlanner(dedup_save_to_lowest_rank=True)  # keeps rank 0's copy of each
dcp.save(state | {name: whole[name] for name in abc}, checkpoint_id=root / "lowest", planner=lowest)


def load_back(path, names):  # every rank asks for every entry named, each one int64 number
    back = {name: torch.zeros_like(whole["a"]) for name in names}
    dcp.load(back, checkpoint_id=path)
    return {name: value.item() for name, value in back.items()}


loaded_whole = load_back(root / "whole", whole)
whole_values = ", ".join(str(loaded_whole[name]) for name in abc)
together_values = ", ".join(str(value) for value in load_back(root / "together", abc).values())
before_values = ", ".join(str(value) for value in load_back(root / "before", abc).values())
lowest_values = ", ".join(str(value) for value in load_back(root / "lowest", abc).values())
lowest_records = dcp.FileSystemReader(root / "lowest").read_metadata().storage_data.items()
lowest_writers = {int(at.relative_path.split("_")[2]) for i, at in lowest_records if i.fqn in abc}
seeds_back = [loaded_whole[f"seed.{r}"] for r in range(world_size)]
print(f"loads a, b, c as {whole_values}, and the seeds as {seeds_back}")
print(f"saved after the model's shards, a, b, c load as {together_values}; before, {before_values}")
print(f"saved after them with dedup_save_to_lowest_rank=True: {lowest_values}")
print("  the ranks whose files hold them:", lowest_writers)
if rank == 0:
    whole_records = dcp.FileSystemReader(root / "whole").read_metadata().storage_data.items()
    # The rank whose file holds each entry: the digit after "__".
    writer_of = {i.fqn: int(at.relative_path.split("_")[2]) for i, at in whole_records}
    writer_of = dict(sorted(writer_of.items()))
    sizes, recorded = bytes_by_file(root / "whole")
    print("entries every rank holds whole, one record each, by rank:", writer_of)
    print(f"bytes in the files {sum(sizes.values())}, in the records {sum(recorded.values())}")

dist.barrier()  # nobody uses the folders any more
if rank == 0:
    shutil.rmtree(root)
    assert file_names == ".metadata, __0_0.distcp, __1_0.distcp"
    assert len(rank_files) == world_size  # witness: one-file-per-rank
    assert chunk_shapes == [(4, 10), (4, 10)] and chunk_rows == [0, 4]  # witness: metadata-shapes
    assert global_shape == (8, 10)
    model_float = all(
        metadata.state_dict_metadata[n].properties.dtype == torch.float32 for n in state
    )
    assert model_float  # witness: metadata-dtype
    own_files = [holds_exactly(f"__{r}_0.distcp", shards_by_rank[r]) for r in range(world_size)]
    # Only what the records cover: the files hold no other bytes (no unlisted copy).
    assert all(own_files) and model_sizes == model_recorded  # witness: file-holds-own-shards
    assert (rank0_file_numel, rank1_file_numel) == (62, 53)
    assert torch.equal(chunk_from_file, full_first_weight[4:8])  # witness: file-holds-rows
    # A second copy of an entry would lie in a file without a record of its own (the
    # metadata keeps one record per entry): the files would hold more bytes than recorded.
    once = recorded == sizes and sorted(writer_of) == sorted(whole)
    assert once and set(writer_of.values()) == set(range(world_size))  # witness: whole-written-once
assert together_values == "1, 1, 1" and before_values == "0, 1, 0"  # witness: order-matters
assert lowest_values == "0, 0, 0" and lowest_writers == {0}  # witness: lowest-rank-planner
assert seeds_back == [100 + r for r in range(world_size)]  # witness: seeds-kept
# No warning, no error, and the loaded a, b, c are copies from different ranks.
assert caught == [] and whole_values == "0, 1, 0"  # witness: no-compare
assert wrote_metadata == ([0] if rank == 0 else [])  # witness: rank0-writes-metadata
assert isinstance(state["0.weight"], DTensor)
dist.destroy_process_group()

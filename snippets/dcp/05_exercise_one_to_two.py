"""Exercise: start a 2-rank FSDP2 run from a checkpoint that one process wrote with torch.save.

Run: torchrun --nproc-per-node 2 snippets/dcp/05_exercise_one_to_two.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
import unittest.mock
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.format_utils import torch_save_to_dcp
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
rank, world_size = dist.get_rank(), dist.get_world_size()


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))


def load_and_record_reads(state: dict, folder: Path) -> list[tuple]:
    """dcp.load, noting each record the file reader torch.loads: ((name, offset), shape)."""
    chunks, shapes, real_load = [], [], torch.load

    def spy(*args, **kwargs):  # only to watch the reader; not needed to load
        record = real_load(*args, **kwargs)
        shapes.append(tuple(record.shape))
        return record

    class NoteChunks(dcp.DefaultLoadPlanner):  # the default planner, noting which saved chunk
        def resolve_tensor(self, read_item):  # each record just read is
            chunks.append((read_item.storage_index.fqn, tuple(read_item.storage_index.offset)))
            return super().resolve_tensor(read_item)

    with unittest.mock.patch("torch.load", spy):
        dcp.load(state, checkpoint_id=folder, planner=NoteChunks())
    return sorted(zip(chunks, shapes, strict=True))


def describe(reads: list[tuple]) -> str:
    return ", ".join(f"{name} from row {offset[0]}: {shape}" for (name, offset), shape in reads)


shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])
if rank == 0:  # the one-device checkpoint, as the saving chapter writes it, then converted once
    torch.manual_seed(0)
    torch.save(build_model().state_dict(), folder / "model.pt")
    torch_save_to_dcp(folder / "model.pt", folder / "dcp")
dist.barrier()  # the folder exists before anyone reads it

torch.manual_seed(1)  # other weights, the same on both ranks, until the load
model = build_model().to(device)
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
state = model.state_dict()  # DTensors: each rank asks DCP for its own rows only
read_from_converted = load_and_record_reads(state, folder / "dcp")
model.load_state_dict(state)

original = torch.load(folder / "model.pt", weights_only=True)  # only to check the result
own_rows = {name: tensor.chunk(world_size)[rank] for name, tensor in original.items()}
shards_match = all(
    torch.equal(param.to_local().cpu(), own_rows[name]) for name, param in model.named_parameters()
)
local_rows = model[0].weight.to_local().shape[0]
print(f"holds {local_rows} of 0.weight's 8 rows; its shards equal the file's rows: {shards_match}")
full_match = all(
    torch.equal(param.full_tensor().cpu(), original[name])
    for name, param in model.named_parameters()
)
whole_tensors = sorted(  # one chunk per tensor, from row 0
    ((name, (0,) * tensor.dim()), tuple(tensor.shape)) for name, tensor in original.items()
)
print("records read from the converted folder:")
print("   ", describe(read_from_converted))

# A checkpoint the sharded run saves has one chunk per shard: a reload reads only the rank's own.
dcp.save(model.state_dict(), checkpoint_id=folder / "sharded")
read_from_sharded = load_and_record_reads(model.state_dict(), folder / "sharded")
own_chunks = []  # this rank's shard of each tensor: where its rows start, and its shape
for name, tensor in model.state_dict().items():
    first_row = sum(len(rows) for rows in original[name].chunk(world_size)[:rank])
    offset = (first_row,) + (0,) * (tensor.dim() - 1)
    own_chunks.append(((name, offset), tuple(tensor.to_local().shape)))
print("records read from the sharded run's own checkpoint:")
print("   ", describe(read_from_sharded))

dist.barrier()
if rank == 0:
    shutil.rmtree(folder)
assert shards_match  # witness: each-rank-its-rows
assert read_from_converted == whole_tensors  # witness: reads-whole-tensors
assert read_from_sharded == sorted(own_chunks) != whole_tensors  # witness: reads-own-chunks
assert full_match
assert local_rows == 4
dist.destroy_process_group()

"""Exercise: load a one-process checkpoint into a model sharded over the ranks.

Run: torchrun --nproc-per-node 2 snippets/sharding/07_exercise_load_full.py
"""

# guide: ranks=2

import os
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor.debug import CommDebugMode

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
# A stand-in for the one-process training run, here built by every rank to write the file and
# check the result; in real use the file already exists and no rank builds the full model.
trained = build()
trained(torch.randn(16, 10))  # one batch in training mode: BatchNorm's buffers leave their defaults
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.pt"
    torch.save(trained.state_dict(), path)
    # Only rank 0 reads the file; the other ranks pass an empty dictionary.
    full = torch.load(path, map_location="cpu") if rank == 0 else {}

with torch.device("meta"):
    model = build()
for layer in (model[0], model[3]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
model.to_empty(device=device)  # storage for the shards; the load below writes every one of them
options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
with CommDebugMode() as comm:  # counts the collectives this rank takes part in
    set_model_state_dict(model, full, options=options)  # rank 0 sends, each rank keeps its shard
broadcasts = comm.get_comm_counts()[torch.ops.c10d.broadcast_]

loaded = {name: p.full_tensor() for name, p in model.named_parameters()}
loaded.update(model.named_buffers())  # buffers are not sharded: each rank holds them whole
expected = trained.state_dict()
matches = loaded.keys() == expected.keys() and all(
    torch.equal(t.cpu(), expected[name]) for name, t in loaded.items()
)
local_numel = sum(p.to_local().numel() for p in model.parameters())
print(f"{local_numel} numbers on this rank, {broadcasts} broadcasts, equal to the file: {matches}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert matches  # witness: broadcast-load-matches
assert local_numel == [70, 61][rank]
# Two broadcasts send the names, shapes and dtypes, and the values of 0-dim tensors (BatchNorm's
# num_batches_tracked, 1 in the file); then one broadcast for each other tensor: 9 entries.
others = sum(value.dim() > 0 for value in expected.values())
tracked = model[1].num_batches_tracked.item()
assert (  # witness: one-broadcast-per-tensor
    others < len(expected) and broadcasts == 2 + others and tracked == 1
)

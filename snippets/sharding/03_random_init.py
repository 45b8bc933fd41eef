"""Random initialization of shards: what the same seed on every rank gives, on CPU and on CUDA.

Run: torchrun --nproc-per-node 2 snippets/sharding/03_random_init.py
"""

# guide: ranks=2

import os
import warnings

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))


def sharded_linear_on(mesh) -> nn.Linear:
    with torch.device("meta"):
        layer = nn.Linear(10, 8)
    fully_shard(layer, mesh=mesh)
    layer.to_empty(device=device)
    return layer


def shards_differ(layer: nn.Linear) -> bool:
    """Compare the rows stored on rank 0 with those stored on rank 1 (4 rows each)."""
    full = layer.weight.full_tensor()
    return not torch.equal(full[:4], full[4:])


layer = sharded_linear_on(mesh)
torch.manual_seed(0)  # the same seed on every rank, as for any SPMD program
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    layer.reset_parameters()
warning_text = next((str(w.message) for w in caught if "DTensor random" in str(w.message)), "")
same_seed_differ = shards_differ(layer)
if rank == 0:
    print("warning:", warning_text or "none")
    print("same seed on every rank, rows of rank 0 and rank 1 differ:", same_seed_differ)

# On a CPU mesh, give each rank its own stream for the initialization.
seeded = sharded_linear_on(mesh)
if device.type == "cpu":
    torch.manual_seed(1000 + rank)
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "DTensor random operators")
    seeded.reset_parameters()
torch.manual_seed(0)  # then the common seed again, for what every rank must draw alike
per_rank_differ = shards_differ(seeded)
if rank == 0:
    print("seed per rank on a CPU mesh, rows differ:", per_rank_differ)
dist.barrier()  # let both ranks finish before the group goes away
dist.destroy_process_group()

if device.type == "cpu":
    assert "may not have complete support on cpu" in warning_text  # witness: cpu-warns
    assert not same_seed_differ  # witness: cpu-same-seed-same-shards
    assert per_rank_differ  # witness: per-rank-seed-differs
if device.type == "cuda":  # only with a GPU for each rank: NCCL and DTensor's CUDA RNG tracker
    assert warning_text == "" and same_seed_differ

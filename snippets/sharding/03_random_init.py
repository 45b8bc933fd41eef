"""Random initialization of shards: what the same seed on every rank gives, on CPU and on CUDA.

Run: torchrun --nproc-per-node 2 snippets/sharding/03_random_init.py
"""

# guide: ranks=2

import math
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


def sharded_linear_on(mesh, in_features: int = 10, out_features: int = 8) -> nn.Linear:
    with torch.device("meta"):
        layer = nn.Linear(in_features, out_features)
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

# The same seed again, on a layer whose 3 rows split unevenly: 2 on rank 0, 1 on rank 1.
uneven = sharded_linear_on(mesh, 8, 3)
torch.manual_seed(0)
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "DTensor random operators")
    uneven.reset_parameters()  # on a CPU mesh: 16 numbers for rank 0's weight, 8 for rank 1's
drawn = [None] * world_size
dist.all_gather_object(drawn, (uneven.weight.to_local().cpu(), uneven.bias.to_local().cpu()))
(weight_0, bias_0), (weight_1, bias_1) = drawn
rows_lined_up = torch.equal(weight_1[0], weight_0[0])  # rank 1's row repeats rank 0's first row
bias_shifted = math.isclose(bias_1[0].item(), weight_0[1, 0].item(), rel_tol=1e-6)
if rank == 0:
    print("uneven weight: rank 1's row = rank 0's row 0:", rows_lined_up)
    print("rank 1's bias = rank 0's weight[1, 0]:", bias_shifted)
dist.barrier()  # let both ranks finish before the group goes away
dist.destroy_process_group()

if device.type == "cpu":
    assert "may not have complete support on cpu" in warning_text  # witness: cpu-warns
    assert not same_seed_differ  # witness: cpu-same-seed-same-shards
    assert per_rank_differ  # witness: per-rank-seed-differs
    assert rows_lined_up and bias_shifted  # witness: shifted-after-uneven
if device.type == "cuda":  # only with a GPU for each rank: NCCL and DTensor's CUDA RNG tracker
    assert warning_text == "" and same_seed_differ

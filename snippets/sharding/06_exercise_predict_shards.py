"""Exercise: predict each rank's part and what it allocates, then check against FSDP.

Run: torchrun --nproc-per-node 2 snippets/sharding/06_exercise_predict_shards.py
"""

# guide: ranks=2

import math
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard


def predicted_local_numel(model: nn.Module, rank: int, world_size: int) -> int:
    """The rank's part: each rank in turn takes ceil(rows / world_size) rows until none are left."""
    numel = 0
    for p in model.parameters():
        rows = p.shape[0]
        block = math.ceil(rows / world_size)
        my_rows = max(0, min(block, rows - rank * block))
        numel += my_rows * p[0].numel()  # rows times the size of one row
    return numel


def predicted_storage(model: nn.Module, world_size: int) -> int:
    """What every rank allocates: each part padded to ceil(rows / world_size) rows."""
    return sum(math.ceil(p.shape[0] / world_size) * p[0].numel() for p in model.parameters())


local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))

with torch.device("meta"):  # shapes are all the prediction needs
    model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3))
prediction = predicted_local_numel(model, rank, world_size)
storage_prediction = predicted_storage(model, world_size)
on_4_ranks = [predicted_local_numel(model, r, 4) for r in range(4)]
parts_on_4_ranks = ", ".join(str(part) for part in on_4_ranks)
storage_on_4_ranks = predicted_storage(model, 4)
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
# Still on meta: the sizes are known, nothing is allocated.
measured = sum(p.to_local().numel() for p in model.parameters())
measured_storage = sum(
    p.to_local().untyped_storage().nbytes() // p.element_size() for p in model.parameters()
)
print(f"part: predicted {prediction}, measured {measured}")
print(f"storage: predicted {storage_prediction}, measured {measured_storage}")
if rank == 0:
    print(f"on 4 ranks: parts {on_4_ranks}, storage {storage_on_4_ranks} on each rank")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert prediction == measured == [45, 28][rank]  # witness: prediction-matches
assert storage_prediction == measured_storage == 45  # witness: storage-prediction-matches
assert on_4_ranks == [28, 28, 17, 0] and sum(on_4_ranks) == 73
assert storage_on_4_ranks == 28

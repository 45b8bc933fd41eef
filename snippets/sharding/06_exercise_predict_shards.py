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
from torch.distributed.tensor.debug import CommDebugMode


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


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3))


def measure(mesh) -> tuple[int, int, int]:
    """Shard the model on meta (nothing is allocated): this rank's part, storage, weight rows."""
    with torch.device("meta"):
        model = build()
    for layer in (model[0], model[2]):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    part = sum(p.to_local().numel() for p in model.parameters())
    storage = sum(
        p.to_local().untyped_storage().nbytes() // p.element_size() for p in model.parameters()
    )
    return part, storage, model[0].weight.to_local().shape[0]


local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))

with torch.device("meta"):  # shapes are all the prediction needs
    model = build()
prediction = predicted_local_numel(model, rank, world_size)
storage_prediction = predicted_storage(model, world_size)
on_4_ranks = [predicted_local_numel(model, r, 4) for r in range(4)]
parts_on_4_ranks = ", ".join(str(part) for part in on_4_ranks)
storage_on_4_ranks = predicted_storage(model, 4)
measured, measured_storage, _ = measure(mesh)
print(f"part: predicted {prediction}, measured {measured}")
print(f"storage: predicted {storage_prediction}, measured {measured_storage}")
if rank == 0:
    print(f"on 4 ranks: parts {on_4_ranks}, storage {storage_on_4_ranks} on each rank")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

# Check the 4-rank prediction without 4 processes: with the "fake" backend (a testing tool, set up
# from torch.testing._internal) this process plays each of 4 ranks in turn. Its collectives reach no
# other process, so their results are not real ones; sharding on meta makes no collective call.
measured_on_4, collectives_on_4 = [], 0
for fake_rank in range(4):
    dist.init_process_group("fake", rank=fake_rank, world_size=4)
    fake_mesh = init_device_mesh("cpu", (4,))
    with CommDebugMode() as comm:  # counts the collectives called inside
        measured_on_4.append(measure(fake_mesh))
    collectives_on_4 += comm.get_total_counts()
    dist.destroy_process_group()
parts_measured_on_4 = [part for part, _, _ in measured_on_4]
storage_measured_on_4 = [storage for _, storage, _ in measured_on_4]
rows_measured_on_4 = [rows for _, _, rows in measured_on_4]  # the 5 rows of the first weight
rows_on_4_ranks = ", ".join(str(rows) for rows in rows_measured_on_4)
chunk_rows = [len(chunk) for chunk in torch.chunk(torch.arange(5), 4)]  # 3 chunks: [2, 2, 1]
split_rows = [len(part) for part in torch.tensor_split(torch.arange(5), 4)]  # [2, 1, 1, 1]
if rank == 0:
    print(f"measured on 4 fake ranks: parts {parts_measured_on_4}, storage {storage_measured_on_4}")
    print("collectives called while sharding on meta, 4 fake ranks:", collectives_on_4)
    print(f"0.weight rows: {rows_measured_on_4}; chunk {chunk_rows}, tensor_split {split_rows}")

assert prediction == measured == [45, 28][rank]  # witness: prediction-matches
assert storage_prediction == measured_storage == 45  # witness: storage-prediction-matches
assert on_4_ranks == [28, 28, 17, 0] and sum(on_4_ranks) == 73
assert storage_on_4_ranks == 28
assert collectives_on_4 == 0  # witness: meta-sharding-no-collective
assert (  # witness: four-ranks-measured
    parts_measured_on_4 == on_4_ranks and storage_measured_on_4 == [storage_on_4_ranks] * 4
)
assert (  # witness: four-ranks-like-chunk
    rows_measured_on_4 == chunk_rows + [0] and rows_measured_on_4 != split_rows
)

"""Exercise: each rank sees half the batch; are the gradients those of one process on all of it?

Run: torchrun --nproc-per-node 2 snippets/sharding/08_exercise_gradients.py
"""

# guide: ranks=2

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor
from torch.distributed.tensor.debug import CommDebugMode

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
single = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
single.load_state_dict(model.state_dict())  # the one-process model, with the same weights
X, Y = torch.randn(8, 10).to(device), torch.randn(8, 3).to(device)  # the same batch everywhere

nn.functional.mse_loss(single(X), Y).backward()  # one process, the whole batch

for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
half = len(X) // world_size
mine = slice(rank * half, (rank + 1) * half)  # this rank's half of the batch
loss = nn.functional.mse_loss(model(X[mine]), Y[mine])
with CommDebugMode() as comm:  # counts the collectives of the backward pass
    loss.backward()
reduce_scatters = comm.get_comm_counts()[torch.ops.c10d._reduce_scatter_base_]

grads_are_shards = all(isinstance(p.grad, DTensor) for p in model.parameters())
largest_difference = max(
    (p.grad.full_tensor() - single.get_parameter(name).grad).abs().max().item()
    for name, p in model.named_parameters()
)
if rank == 0:
    print(f"gradients are DTensor shards: {grads_are_shards}")
    print(f"reduce-scatters, one per group with parameters: {reduce_scatters}")
    print(f"equal to the one-process gradient within 1e-6: {largest_difference < 1e-6}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert grads_are_shards  # witness: grads-are-shards
assert reduce_scatters == 2  # witness: reduce-scattered
assert largest_difference < 1e-6  # witness: grads-averaged

"""A process group: every rank runs this same file, and learns who it is from the environment.

Run: torchrun --nproc-per-node 2 snippets/ddp/01_process_group.py
"""

# guide: ranks=2

import os

import torch
import torch.distributed as dist

# torchrun sets these for each process it starts; init_process_group reads the rest itself.
local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per rank
backend = "nccl" if use_cuda else "gloo"
dist.init_process_group(backend)  # no address: MASTER_ADDR and MASTER_PORT come from torchrun
rank, world_size = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)

group_backend = dist.get_backend()  # what the process group really uses
print(f"rank {rank} of {world_size}, local rank {local_rank}, backend {group_backend}")

# A collective: every rank contributes a tensor, every rank receives the sum.
value = torch.tensor([float(rank + 1)], device=device)
print(f"before all_reduce: {value.item():.0f}")
dist.all_reduce(value)  # in place; the default operation is a sum
print(f"after all_reduce:  {value.item():.0f}")

sum_of_contributions = value.item()
tensor_on_gpu = value.device.type == "cuda"
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert rank == int(os.environ["RANK"]) and world_size == int(os.environ["WORLD_SIZE"])
gpus_for_every_rank = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])
assert group_backend == ("nccl" if tensor_on_gpu else "gloo") and (
    tensor_on_gpu == gpus_for_every_rank
)  # witness: backend-follows-device
assert sum_of_contributions == world_size * (world_size + 1) / 2  # witness: all-reduce-sums

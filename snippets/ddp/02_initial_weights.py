"""Per-rank seeds give each rank different weights; wrapping in DDP copies rank 0's to every rank.

Run: torchrun --nproc-per-node 2 snippets/ddp/02_initial_weights.py
"""

# guide: ranks=2

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)


def gathered(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's copy of `tensor`, in rank order."""
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor.contiguous())
    return copies


torch.manual_seed(rank)  # a different seed on every rank, on purpose
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
first_weight, first_storage = model[0].weight, model[0].weight.data_ptr()
before = gathered(torch.cat([param.detach().flatten() for param in model.parameters()]))
print(f"before DDP: weight[0, 0] = {model[0].weight[0, 0].item():+.4f}")

rng_before = torch.get_rng_state()
cuda_rng_before = torch.cuda.get_rng_state() if use_cuda else None
ddp_model = DDP(model)  # broadcasts rank 0's parameters and buffers to every rank
rng_untouched = torch.equal(torch.get_rng_state(), rng_before)
if use_cuda:
    rng_untouched &= torch.equal(torch.cuda.get_rng_state(), cuda_rng_before)
after = gathered(torch.cat([param.detach().flatten() for param in model.parameters()]))
print(f"after DDP:  weight[0, 0] = {model[0].weight[0, 0].item():+.4f}")

# The random streams themselves are untouched: each rank still draws its own numbers.
draws = gathered(torch.rand(1).to(device))
print(f"a random draw after wrapping: {draws[rank].item():.4f}")

differ_before = not torch.equal(before[0], before[1])
equal_after = all(torch.equal(after[0], copy) for copy in after)
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert differ_before  # witness: seeds-differ
assert equal_after and torch.equal(after[0], before[0])  # witness: rank0-weights-everywhere
assert (
    ddp_model.module is model
    and model[0].weight is first_weight
    and model[0].weight.data_ptr() == first_storage  # the values were copied into it
)  # witness: wraps-in-place
assert rng_untouched and not torch.equal(draws[0], draws[1])  # witness: streams-stay-per-rank

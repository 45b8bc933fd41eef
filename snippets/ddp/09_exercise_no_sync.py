"""Exercise: gradient accumulation with DDP. Two micro-batches per rank; only the second one's
backward communicates, and the result is still the whole-batch gradient. The end checks that
no_sync() acts on the forward pass: a backward inside it after a forward outside still averages.

Run: torchrun --nproc-per-node 2 snippets/ddp/09_exercise_no_sync.py
"""

# guide: ranks=2

import copy
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
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor)
    return copies


def same_on_all_ranks(tensor: torch.Tensor) -> bool:
    copies = gathered(tensor)
    return all(torch.equal(copies[0], copy) for copy in copies)


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
inputs, targets = torch.randn(8, 10).to(device), torch.randint(0, 3, (8,)).to(device)
loss_fn = nn.CrossEntropyLoss()
reference = copy.deepcopy(model)
loss_fn(reference(inputs), targets).backward()

ddp_model = DDP(model)
my_inputs, my_targets = inputs.chunk(world_size)[rank], targets.chunk(world_size)[rank]
micro_batches = list(zip(my_inputs.chunk(2), my_targets.chunk(2)))
with ddp_model.no_sync():  # the forward pass inside: its backward does not communicate
    x, y = micro_batches[0]
    (loss_fn(ddp_model(x), y) / len(micro_batches)).backward()
synced_inside = same_on_all_ranks(model[0].weight.grad)
x, y = micro_batches[1]
(loss_fn(ddp_model(x), y) / len(micro_batches)).backward()  # forward outside: averages the sum
matches = all(
    torch.allclose(p.grad, r.grad, atol=1e-5)
    for p, r in zip(model.parameters(), reference.parameters())
)
# DDP decides in the forward pass: a backward inside no_sync() after a forward outside is averaged.
model.zero_grad()
own_grad = torch.autograd.grad(loss_fn(model(x), y), model[0].weight)[0]  # plain model: no DDP
mean_of_own = sum(gathered(own_grad)) / world_size
loss = loss_fn(ddp_model(x), y)
with ddp_model.no_sync():
    loss.backward()
averaged_inside = torch.allclose(model[0].weight.grad, mean_of_own, atol=1e-6)
if rank == 0:
    print(f"after the no_sync backward, gradients agree across ranks: {synced_inside}")
    print(f"after the last backward, they equal the whole-batch gradient: {matches}")
    print(f"forward outside, backward inside no_sync(): the ranks' mean: {averaged_inside}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert not synced_inside  # witness: no-sync-keeps-local
assert averaged_inside  # witness: no-sync-decided-in-forward
assert matches  # witness: accumulated-matches

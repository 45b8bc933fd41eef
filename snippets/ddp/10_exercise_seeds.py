"""Exercise: one seed on every rank makes every rank draw the same random batch. Seed per rank:
the data differs, and DDP still gives every rank rank 0's weights.

Run: torchrun --nproc-per-node 2 snippets/ddp/10_exercise_seeds.py
"""

# guide: ranks=2

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)

dataset_size = 1000
data = torch.linspace(-1, 1, dataset_size * 10).view(dataset_size, 10).to(device)  # no randomness


def same_on_all_ranks(tensor: torch.Tensor) -> bool:
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor.detach())
    return all(torch.equal(copies[0], copy) for copy in copies)


def start(seed: int) -> tuple[DDP, torch.Tensor, torch.Tensor]:
    """Seed, build and wrap the model, then draw the indices of a random batch."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    weight_before = model[0].weight.detach().clone()  # this rank's own initial weight
    ddp_model = DDP(model)
    batch = torch.randint(0, dataset_size, (4,)).to(device)
    return ddp_model, batch, weight_before


def local_gradient(ddp_model: DDP, batch: torch.Tensor) -> torch.Tensor:
    """This rank's own gradient on its batch, computed on the inner model: DDP averages nothing."""
    model = ddp_model.module
    return torch.autograd.grad(model(data[batch]).sum(), model[0].weight)[0]


# The bug: one seed for all ranks.
ddp_model, batch, _ = start(seed=0)
same_batch = same_on_all_ranks(batch)
same_gradient = same_on_all_ranks(local_gradient(ddp_model, batch))
print(f"one seed everywhere: batch {batch.tolist()}, same gradient {same_gradient}")

# The fix: a seed per rank. DDP copies rank 0's initial weights, so they still agree.
ddp_model, batch, weight_before = start(seed=1000 + rank)
print(f"seed per rank:       batch {batch.tolist()}")
different_batches = not same_on_all_ranks(batch)
different_gradients = not same_on_all_ranks(local_gradient(ddp_model, batch))
differed_before = not same_on_all_ranks(weight_before)
weights_agree = same_on_all_ranks(ddp_model.module[0].weight)


# DistributedSampler splits one shuffled order among the ranks: it needs the same seed on every
# rank, and set_epoch to shuffle each epoch anew.
def epoch_shares(seed: int, size: int = dataset_size) -> list[list[int]]:
    shares = [None] * world_size
    dist.all_gather_object(shares, list(DistributedSampler(range(size), seed=seed)))
    return shares


same_seed, seed_per_rank = epoch_shares(seed=0), epoch_shares(seed=rank)
covered_same_seed = len(set(same_seed[0]) | set(same_seed[1]))
covered_seed_per_rank = len(set(seed_per_rank[0]) | set(seed_per_rank[1]))
sampler = DistributedSampler(range(dataset_size))
first_epoch, second_epoch = list(sampler), list(sampler)
sampler.set_epoch(1)
after_set_epoch = list(sampler)
padded = epoch_shares(seed=0, size=dataset_size + 1)  # 1001 samples, 2 ranks, drop_last=False
padded_share = len(padded[rank])
padded_total, padded_distinct = len(padded[0] + padded[1]), len(set(padded[0]) | set(padded[1]))
if rank == 0:
    print(f"DistributedSampler covers {covered_same_seed} of {dataset_size} samples per epoch")
    print(f"with seed=rank it covers {covered_seed_per_rank}")
    print(f"{dataset_size + 1} samples: {padded_share} on each rank, {padded_distinct} different")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert same_batch  # witness: one-seed-same-batch
assert same_gradient and different_gradients  # witness: one-seed-same-gradient
assert different_batches and differed_before and weights_agree  # witness: per-rank-seed-fix
assert (
    covered_same_seed == dataset_size > covered_seed_per_rank
    and first_epoch == second_epoch != after_set_epoch
)  # witness: sampler-same-seed-set-epoch
assert (
    padded_total == padded_share * world_size == dataset_size + 2
    and padded_distinct == dataset_size + 1
)  # witness: sampler-pads

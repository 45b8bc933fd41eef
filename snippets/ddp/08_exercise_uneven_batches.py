"""Exercise: ranks with 3 and 5 samples. DDP averages the ranks' gradients, so the loss must be
scaled to get the gradient of the mean over all 8 samples.

Run: torchrun --nproc-per-node 2 snippets/ddp/08_exercise_uneven_batches.py
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

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
inputs, targets = torch.randn(8, 10).to(device), torch.randint(0, 3, (8,)).to(device)
reference = copy.deepcopy(model)
nn.CrossEntropyLoss()(reference(inputs), targets).backward()  # mean over all 8 samples

assert world_size == 2, "this exercise splits 8 samples into 3 + 5"
mine = slice(0, 3) if rank == 0 else slice(3, 8)


def gradients_match(ddp_model: DDP) -> bool:
    pairs = zip(ddp_model.module.parameters(), reference.parameters())
    return all(torch.allclose(p.grad, r.grad, atol=1e-5) for p, r in pairs)


# Naive: the mean over this rank's samples. DDP then averages the two means.
naive = DDP(copy.deepcopy(model))
nn.CrossEntropyLoss()(naive(inputs[mine]), targets[mine]).backward()
naive_matches = gradients_match(naive)
# What DDP computed: the plain mean of the two ranks' own mean gradients, one weight per rank.
own = copy.deepcopy(model)
nn.CrossEntropyLoss()(own(inputs[mine]), targets[mine]).backward()
own_means = [param.grad.clone() for param in own.parameters()]
for grad in own_means:
    dist.all_reduce(grad)
    grad /= world_size
pairs = zip(naive.module.parameters(), own_means)
naive_is_mean_of_means = all(torch.allclose(p.grad, mean, atol=1e-5) for p, mean in pairs)

# Fixed: sum this rank's losses, divide by the global count, multiply by the world size,
# which DDP's division by the world size undoes.
count = torch.tensor([float(mine.stop - mine.start)], device=device)
dist.all_reduce(count)  # the global number of samples: 8
fixed = DDP(copy.deepcopy(model))
loss_sum = nn.CrossEntropyLoss(reduction="sum")(fixed(inputs[mine]), targets[mine])
(loss_sum * world_size / count).backward()
fixed_matches = gradients_match(fixed)
global_count = int(count.item())
if rank == 0:
    print(f"{global_count} samples in all; naive gradient matches: {naive_matches},")
    print(f"it is the plain mean of the two ranks' mean gradients: {naive_is_mean_of_means}")
    print(f"scaled by world_size / {global_count}, it matches: {fixed_matches}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert naive_is_mean_of_means and not naive_matches  # witness: mean-of-means-differs
assert fixed_matches  # witness: scaled-sum-matches

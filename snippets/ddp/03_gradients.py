"""Two ranks, each on half a batch: DDP's gradients equal one process's on the whole batch.

Run: torchrun --nproc-per-node 2 snippets/ddp/03_gradients.py
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

torch.manual_seed(0)  # the same batch on every rank, so that each can check the claim itself
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
inputs, targets = torch.randn(8, 10).to(device), torch.randint(0, 3, (8,)).to(device)
loss_fn = nn.CrossEntropyLoss()  # the mean over the samples it is given

# The reference: one process, one model, the whole batch.
reference = copy.deepcopy(model)
loss_fn(reference(inputs), targets).backward()

# Each rank takes its own half of the batch.
mine = slice(rank * 8 // world_size, (rank + 1) * 8 // world_size)
ddp_model = DDP(model)
local = copy.deepcopy(model)  # what this rank's half alone gives, without DDP
loss_fn(local(inputs[mine]), targets[mine]).backward()
loss_fn(ddp_model(inputs[mine]), targets[mine]).backward()  # DDP averages during backward

pairs = list(zip(model.named_parameters(), reference.parameters(), local.parameters()))
parameter_tensors = len(pairs)
parameter_count = sum(param.numel() for param in model.parameters())
matching = 0
for (name, param), ref, loc in pairs:
    same = torch.allclose(param.grad, ref.grad, atol=1e-5)
    matching += same
    if rank == 0:
        print(f"{name:9} equals the whole-batch gradient: {same}")

# The mechanism: the gradient DDP leaves is the mean of the ranks' local gradients.
local_mean = [loc.grad.clone() for _, _, loc in pairs]
for grad in local_mean:
    dist.all_reduce(grad)
    grad /= world_size
is_mean_of_locals = all(
    torch.allclose(param.grad, mean, atol=1e-5)
    for ((_, param), _, _), mean in zip(pairs, local_mean)
)
local_differs = not torch.allclose(local[0].weight.grad, reference[0].weight.grad, atol=1e-6)
samples_per_rank = inputs[mine].shape[0]
if rank == 0:
    print(f"{matching} of {parameter_tensors} tensors ({parameter_count} numbers) match")
print(f"{samples_per_rank} samples on this rank; its own gradient alone differs: {local_differs}")

# A denominator that differs between ranks: targets set to ignore_index (-100, the default) in
# rank 0's half only. Each rank's mean divides by the number of targets it keeps.
ignored = targets.clone()
ignored[:3] = -100
ig_reference, ig_mean, ig_scaled, ig_unscaled = (copy.deepcopy(reference) for _ in range(4))
for module in (ig_reference, ig_mean, ig_scaled, ig_unscaled):
    module.zero_grad()
loss_fn(ig_reference(inputs), ignored).backward()  # the mean over the 5 kept targets
ddp_mean = DDP(ig_mean)
loss_fn(ddp_mean(inputs[mine]), ignored[mine]).backward()
kept = (ignored[mine] != -100).sum().float()
dist.all_reduce(kept)  # the global count of kept targets
sum_loss_fn = nn.CrossEntropyLoss(reduction="sum")
ddp_scaled = DDP(ig_scaled)  # the fix: a sum over the global count, times W
sum_loss = sum_loss_fn(ddp_scaled(inputs[mine]), ignored[mine])
(sum_loss * world_size / kept).backward()
ddp_unscaled = DDP(ig_unscaled)  # the same without the world size, which DDP divides by
(sum_loss_fn(ddp_unscaled(inputs[mine]), ignored[mine]) / kept).backward()


def grads_match(module: nn.Module, ref: nn.Module, factor: int = 1) -> bool:
    return all(
        torch.allclose(p.grad * factor, r.grad, atol=1e-5)
        for p, r in zip(module.parameters(), ref.parameters())
    )


ignored_mean_matches = grads_match(ig_mean, ig_reference)
ignored_sum_matches = grads_match(ig_scaled, ig_reference)
unscaled_is_divided = not grads_match(ig_unscaled, ig_reference) and grads_match(
    ig_unscaled, ig_reference, factor=world_size
)
if rank == 0:
    print(f"3 targets ignored in rank 0's half: mean matches {ignored_mean_matches}")
    print(f"sum over the global count of kept targets, times W, matches {ignored_sum_matches}")
    print(f"without the factor W, the gradient is divided by W: {unscaled_is_divided}")

# A batch-dependent layer breaks the equality: each rank's BatchNorm normalizes with the
# statistics of its own half, not those of the whole batch.
torch.manual_seed(0)
bn_model = nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
bn_model = bn_model.to(device)
bn_reference, bn_local = copy.deepcopy(bn_model), copy.deepcopy(bn_model)
loss_fn(bn_reference(inputs), targets).backward()
loss_fn(bn_local(inputs[mine]), targets[mine]).backward()  # BatchNorm on this half alone
bn_ddp = DDP(bn_model)  # kept in a name: DDP's backward needs the wrapper alive
loss_fn(bn_ddp(inputs[mine]), targets[mine]).backward()
bn_grads = [param.grad for param in bn_model.parameters()]
batchnorm_matches = all(
    torch.allclose(grad, ref.grad, atol=1e-5)
    for grad, ref in zip(bn_grads, bn_reference.parameters())
)
bn_half_mean = [param.grad.clone() for param in bn_local.parameters()]
for grad in bn_half_mean:
    dist.all_reduce(grad)
    grad /= world_size
bn_is_mean_of_halves = all(
    torch.allclose(grad, mean, atol=1e-5) for grad, mean in zip(bn_grads, bn_half_mean)
)
if rank == 0:
    print(f"with a BatchNorm1d layer, every gradient matches: {batchnorm_matches}")
    print(f"it is the mean of per-half BatchNorm gradients: {bn_is_mean_of_halves}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert (
    matching == parameter_tensors == 4 and parameter_count == 115
)  # witness: every-gradient-matches
assert is_mean_of_locals  # witness: mean-of-local-gradients
assert local_differs  # witness: local-gradient-differs
assert not ignored_mean_matches and ignored_sum_matches  # witness: ignore-index-denominator
assert unscaled_is_divided  # witness: sum-needs-world-size
assert not batchnorm_matches and bn_is_mean_of_halves  # witness: batchnorm-breaks-equality

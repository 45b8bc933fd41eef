"""SyncBatchNorm: batch statistics over the whole global batch. Conversion works anywhere; the
synchronized training pass needs CUDA GPUs (or XPU, HPU): in a process group on the CPU it raises.

Run: torchrun --nproc-per-node 2 snippets/ddp/06_sync_batchnorm.py
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
model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device)
plain = copy.deepcopy(model)  # the one-process reference
old_bn = model[1]
synced = nn.SyncBatchNorm.convert_sync_batchnorm(model)
converted_type = type(synced[1]).__name__
same_entries = list(synced.state_dict()) == list(plain.state_dict()) and all(
    torch.equal(value, plain.state_dict()[key]) for key, value in synced.state_dict().items()
)
print(f"converted: {converted_type}, same state_dict keys and values: {same_entries}")


# A subclass of a batch-norm class becomes a plain SyncBatchNorm: its own buffer and forward go.
class ScaledBatchNorm(nn.BatchNorm1d):
    def __init__(self, features: int) -> None:
        super().__init__(features)
        self.register_buffer("scale", torch.full((features,), 2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.scale


subclassed = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(ScaledBatchNorm(3)))
subclass_converted_to = type(subclassed[0]).__name__
scale_dropped = "0.scale" not in subclassed.state_dict()
if rank == 0:
    print(
        f"BatchNorm1d subclass converted: {subclass_converted_to}, buffer dropped: {scale_dropped}"
    )

full_batch = torch.randn(16, 4).to(device)  # the same seed on every rank: the same global batch
mine = full_batch.chunk(world_size)[rank]  # this rank's share of it

# On the CPU, with gloo (on a GPU machine too: a CPU copy of the model and a gloo group).
cpu_model = copy.deepcopy(synced).cpu()
# Copies trained at the end, once the process group is gone.
no_group_model, no_group_plain = copy.deepcopy(cpu_model), copy.deepcopy(plain).cpu()
gloo_group = dist.new_group(backend="gloo") if use_cuda else None  # None: the default group
try:
    DDP(cpu_model, process_group=gloo_group)
    wrap_error = ""
except ValueError as error:
    wrap_error = str(error)
try:
    cpu_model(mine.cpu())  # training mode, outside DDP
    forward_error = ""
except ValueError as error:
    forward_error = str(error)
trained = copy.deepcopy(plain).cpu()
for _ in range(5):
    trained(full_batch.cpu() * 3 + 2)  # plain BatchNorm: running statistics far from 0 and 1
cpu_model.load_state_dict(trained.state_dict())
cpu_model.eval()
trained.eval()
eval_matches = torch.allclose(cpu_model(mine.cpu()), trained(mine.cpu()))
stats_moved = not torch.allclose(trained[1].running_mean, torch.zeros(3), atol=0.1)
if rank == 0:
    print("DDP(model) on CPU:", wrap_error)
    print("training-mode forward on CPU:", forward_error)
    print("evaluation-mode forward on CPU matches BatchNorm1d:", eval_matches)

if device.type == "cuda":  # needs a GPU for every rank: two GPUs for this launch
    ddp_model = DDP(synced, device_ids=[local_rank])
    output = ddp_model(mine)  # statistics over all ranks' samples
    expected = plain(full_batch).chunk(world_size)[rank]  # one process on the whole batch
    output_matches = torch.allclose(output, expected, atol=1e-5)
    stats_match = True
    for name in ("running_mean", "running_var"):
        mine_stat, plain_stat = getattr(synced[1], name), getattr(plain[1], name)
        stats = [torch.empty_like(mine_stat) for _ in range(world_size)]
        dist.all_gather(stats, mine_stat)
        stats_match &= torch.allclose(mine_stat, plain_stat, atol=1e-5)
        stats_match &= all(torch.equal(stats[0], s) for s in stats)
    print("output equals BatchNorm1d on the whole batch:", output_matches)
    print("running statistics equal BatchNorm1d's after the whole batch:", stats_match)
    assert output_matches  # each rank's rows of the whole-batch output
    assert stats_match  # the whole batch's running mean and variance, on every rank

dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

# Without a process group, the converted layer trains on the CPU as plain BatchNorm does.
no_group_output = no_group_model(mine.cpu())  # training mode
same_output = torch.allclose(no_group_output, no_group_plain(mine.cpu()))
states = no_group_model.state_dict().values(), no_group_plain.state_dict().values()
no_group_like_plain = same_output and all(torch.equal(a, b) for a, b in zip(*states))
if rank == 0:
    print("training-mode forward, no process group, matches BatchNorm1d:", no_group_like_plain)

assert converted_type == "SyncBatchNorm" and same_entries  # witness: conversion-keeps-state
assert subclass_converted_to == "SyncBatchNorm" and scale_dropped  # witness: subclass-made-plain
assert wrap_error == "SyncBatchNorm layers only work with GPU modules"  # witness: ddp-cpu-refuses
on_gpu_only = "SyncBatchNorm expected input tensor to be on GPU"
assert forward_error.startswith(on_gpu_only)  # witness: cpu-train-raises
assert eval_matches and stats_moved  # witness: eval-works-on-cpu
assert not dist.is_initialized() and no_group_like_plain  # witness: no-group-falls-back
kept = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
assert synced is model and all(
    getattr(synced[1], name) is getattr(old_bn, name) for name in kept
)  # witness: conversion-keeps-parameters

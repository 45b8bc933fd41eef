"""Exercise: resume a sharded run from a DCP checkpoint and continue exactly as without the stop.

Run: torchrun --nproc-per-node 2 snippets/dcp/06_exercise_resume.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

local_rank = int(os.environ["LOCAL_RANK"])
use_gpus = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_gpus else torch.device("cpu")
if use_gpus:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_gpus else "gloo")
# Without a mesh, fully_shard picks the accelerator torch finds, even with fewer GPUs than
# ranks, where this script uses gloo on the CPU: name the device this process group uses.
mesh = init_device_mesh(device.type, (dist.get_world_size(),))
rank, world_size = dist.get_rank(), dist.get_world_size()

torch.manual_seed(0)
batches = [torch.randn(8, 10) for _ in range(4)]  # the same on every rank; each takes its half


def new_run(seed: int, lr: float):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    for layer in (model[0], model[2]):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model, torch.optim.AdamW(model.parameters(), lr=lr)


def train(model, optimizer, steps) -> None:
    for batch in steps:
        optimizer.zero_grad()
        model(batch.chunk(world_size)[rank].to(device)).square().mean().backward()
        optimizer.step()


def full_parameters(model) -> dict[str, torch.Tensor]:
    return {name: p.full_tensor().cpu() for name, p in model.named_parameters()}


model, optimizer = new_run(seed=0, lr=0.05)
train(model, optimizer, batches)  # 4 steps in one go
uninterrupted = full_parameters(model)

shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])

model, optimizer = new_run(seed=0, lr=0.05)
train(model, optimizer, batches[:2])
model_state, optimizer_state = get_state_dict(model, optimizer)
dcp.save({"model": model_state, "optim": optimizer_state}, checkpoint_id=folder)
del model, optimizer  # the job stops

model, optimizer = new_run(seed=1, lr=0.5)  # a new job: other weights and settings, no history
fresh = full_parameters(model)
# Its own tensors, to be filled. AdamW has no state yet: get_state_dict makes it with one step
# of zero gradients at learning rate 0, which leaves the weights as they were.
model_state, optimizer_state = get_state_dict(model, optimizer)
step_before_load = int(optimizer.state[model[0].weight]["step"].item())
unchanged = all(torch.equal(p, fresh[n]) for n, p in full_parameters(model).items())
state = {"model": model_state, "optim": optimizer_state}
dcp.load(state, checkpoint_id=folder)  # in place, into those tensors
step_after_load = int(optimizer.state[model[0].weight]["step"].item())
# A float cannot be filled in place: DCP puts the saved one into the dict, whose param_groups
# are copies of the optimizer's, so the optimizer keeps its own until set_state_dict.
lr_in_dict = state["optim"]["param_groups"][0]["lr"]
groups_copied = state["optim"]["param_groups"][0] is not optimizer.param_groups[0]
lr_after_load = optimizer.param_groups[0]["lr"]
set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
lr_after_set = optimizer.param_groups[0]["lr"]
train(model, optimizer, batches[2:])
resumed = full_parameters(model)

max_abs_difference = max((resumed[n] - uninterrupted[n]).abs().max().item() for n in resumed)

# The same resume with the state taken after a backward pass, while the gradients are set.
model, optimizer = new_run(seed=1, lr=0.5)
model(batches[0].chunk(world_size)[rank].to(device)).square().mean().backward()
model_state, optimizer_state = get_state_dict(model, optimizer)
late_made = len(optimizer_state["state"])  # the optimizer state get_state_dict gave
late = {"model": model_state, "optim": optimizer_state}
dcp.load(late, checkpoint_id=folder)
set_state_dict(model, optimizer, model_state_dict=late["model"], optim_state_dict=late["optim"])
late_state_entries, late_lr = len(optimizer.state), optimizer.param_groups[0]["lr"]
if rank == 0:
    print(f"AdamW's step count: {step_before_load} before dcp.load, {step_after_load} after it")
    print(f"learning rate after dcp.load: {lr_in_dict} in the dict, {lr_after_load} in optimizer")
    print(f"learning rate in the optimizer after set_state_dict: {lr_after_set}")
    print(f"largest difference from the uninterrupted run: {max_abs_difference}")
    print(f"state taken with gradients set: {late_state_entries} AdamW entries, lr {late_lr}")

dist.barrier()
if rank == 0:
    shutil.rmtree(folder)
assert step_before_load == 1 and unchanged  # witness: get-state-dict-steps-once
assert step_after_load == 2  # witness: load-fills-optimizer-tensors
load_fills_dict = lr_in_dict == 0.05 and groups_copied
assert load_fills_dict and lr_after_load == 0.5  # witness: load-fills-dict-copy
assert lr_after_set == 0.05  # witness: set-restores-the-rest
assert max_abs_difference == 0.0  # witness: resume-exact
assert late_made == late_state_entries == 0 and late_lr == 0.05  # witness: grad-set-no-state
dist.destroy_process_group()

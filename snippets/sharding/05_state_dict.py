"""Sharded and full state_dicts of a sharded model and its optimizer.

Run: torchrun --nproc-per-node 2 snippets/sharding/05_state_dict.py
"""

# guide: ranks=2

import io
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
)
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
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)  # built on the sharded parameters
x = torch.randn(4, 10).to(device)
model(x).sum().backward()
optimizer.step()

# Sharded (the default): DTensors, each rank's values are its shards.
sharded = get_model_state_dict(model)
sharded_types = ", ".join(sorted({type(value).__name__ for value in sharded.values()}))
local_numel = sum(value.to_local().numel() for value in sharded.values())

# Full, on the CPU: every rank gathers each tensor, rank 0 keeps it, the others get {}.
full_options = StateDictOptions(full_state_dict=True, cpu_offload=True)
with CommDebugMode() as comm:  # counts the collectives this rank takes part in
    full = get_model_state_dict(model, options=full_options)
full_entries = len(full)
all_gathers = comm.get_comm_counts()[torch.ops.c10d_functional.all_gather_into_tensor]
everywhere = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True))
everywhere_devices = {value.device.type for value in everywhere.values()}
everywhere_plain = all(type(value) is torch.Tensor for value in everywhere.values())
everywhere_shape = tuple(everywhere["0.weight"].shape)
everywhere_is_full = torch.equal(everywhere["0.weight"], model[0].weight.full_tensor())

# The optimizer's state, keyed by parameter names instead of positions.
optim_state = get_optimizer_state_dict(model, optimizer)
optim_keys = list(optim_state["state"])
exp_avg_type = type(optim_state["state"]["0.weight"]["exp_avg"]).__name__
plain_keys = list(optimizer.state_dict()["state"])
full_optim = get_optimizer_state_dict(model, optimizer, options=full_options)
full_optim_entries = len(full_optim.get("state", {}))
print(
    f"sharded: {local_numel} numbers; full model: {full_entries}, optimizer: {full_optim_entries}"
)
print(f"all-gathers for the full model: {all_gathers}; no cpu_offload: 0.weight {everywhere_shape}")
if rank == 0:
    print("optimizer state keys:", optim_keys, "instead of", plain_keys)
    full_exp_avg_shape = tuple(full_optim["state"]["0.weight"]["exp_avg"].shape)
    print(f"exp_avg of 0.weight: {exp_avg_type} when sharded, {full_exp_avg_shape} when full")

    # Rank 0 writes one ordinary file; a one-process program loads it with the defaults.
    buffer = io.BytesIO()
    torch.save(full, buffer)
    buffer.seek(0)
    single = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
    result = single.load_state_dict(torch.load(buffer))  # the defaults: weights_only=True
    print("one process:", result)
    full_types = {type(value).__name__ for value in full.values()}
    full_devices = {value.device.type for value in full.values()}
    same_prediction = torch.allclose(single(x.cpu()), model(x).cpu())
else:
    model(x)  # the forward is collective: every rank takes part
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

names = ["0.weight", "0.bias", "2.weight", "2.bias"]
assert sharded_types == "DTensor" and list(sharded) == names
assert all(isinstance(value, DTensor) for value in sharded.values())  # witness: sharded-is-dtensor
assert local_numel == [62, 53][rank]  # witness: sharded-is-local
assert full_entries == [4, 0][rank]  # witness: full-on-rank0-only
assert all_gathers == 4  # witness: every-rank-gathers
assert (  # witness: full-everywhere
    len(everywhere) == 4
    and everywhere_plain
    and everywhere_shape == (8, 10)
    and everywhere_is_full
    and everywhere_devices == {device.type}
)
assert optim_keys == names and plain_keys == [0, 1, 2, 3]  # witness: optim-by-name
assert exp_avg_type == "DTensor"  # witness: optim-state-sharded
if rank == 0:
    assert full_types == {"Tensor"} and full_devices == {"cpu"}  # witness: full-is-plain-cpu
    assert full_exp_avg_shape == (8, 10)  # witness: full-optim
    assert not result.missing_keys and not result.unexpected_keys  # witness: loads-in-one-process
    assert same_prediction  # witness: same-prediction
assert full_optim_entries == [4, 0][rank]

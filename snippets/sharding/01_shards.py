"""fully_shard per layer and at the root: parameters become DTensors, each rank keeps a shard.

Run: torchrun --nproc-per-node 2 snippets/sharding/01_shards.py
"""

# guide: ranks=2

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor, Shard

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["WORLD_SIZE"])  # one GPU per rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))  # the ranks that share the model

torch.manual_seed(0)  # the same seed on every rank: every rank builds the same full model
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
reference = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
reference.load_state_dict(model.state_dict())  # an unsharded copy to compare with

for layer in model:
    if isinstance(layer, nn.Linear):
        fully_shard(layer, mesh=mesh)  # one group per layer: gathered and freed one at a time
fully_shard(model, mesh=mesh)  # the root: takes what is left (here nothing) and runs the groups

total = sum(p.numel() for p in model.parameters())  # the global shapes, as on one device
local_numel = sum(p.to_local().numel() for p in model.parameters())  # what this rank stores
for name, p in model.named_parameters():
    local_shape = tuple(p.to_local().shape)
    print(f"{name:8} {type(p).__name__} {str(tuple(p.shape)):7} {p.placements} local {local_shape}")
print(f"{total} parameters in the model, {local_numel} stored on this rank")

first_weight = model[0].weight
placement = repr(first_weight.placements[0])
all_dtensors = all(isinstance(p, DTensor) for p in model.parameters())
out_rows = model[2].weight.to_local().shape[0]  # rows of the (3, 8) weight on this rank
chunk_rows = [len(chunk) for chunk in torch.chunk(torch.arange(3), world_size)]
full_equals_original = torch.equal(first_weight.full_tensor(), reference[0].weight)
keys = list(model.state_dict())
model_class = type(model).__name__

# During the layer's forward, FSDP has gathered the full weight; afterwards it is a shard again.
seen = []
model[0].register_forward_pre_hook(lambda layer, args: seen.append(layer.weight))
x = torch.randn(4, 10).to(device)  # same seed on every rank: the same batch everywhere
y = model(x)
weight_in_forward = seen[0]
gathered_shape = tuple(weight_in_forward.shape)
same_output = torch.allclose(y, reference(x))

gathered = [0] * world_size
dist.all_gather_object(gathered, local_numel)  # every rank's count, for the check below
dist.destroy_process_group()

assert total == 115  # the worked example's count
assert local_numel == [62, 53][rank] and sum(gathered) == total  # witness: shards-add-up
assert out_rows == chunk_rows[rank] and chunk_rows == [2, 1]  # witness: split-like-chunk
assert all_dtensors  # witness: parameters-are-dtensors
assert first_weight.placements == (Shard(0),) and placement == "Shard(dim=0)"  # witness: shard-0
assert full_equals_original  # witness: full-tensor-is-original
assert keys == ["0.weight", "0.bias", "2.weight", "2.bias"]  # witness: same-keys
assert isinstance(model, FSDPModule) and isinstance(model, nn.Sequential)  # witness: class-swap
assert model_class == "FSDPSequential"
assert not isinstance(weight_in_forward, DTensor) and gathered_shape == (8, 10)  # witness: gathered
assert isinstance(model[0].weight, DTensor)  # witness: resharded-after
assert same_output  # witness: same-output

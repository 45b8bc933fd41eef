"""fully_shard per layer and at the root: parameters become DTensors, each rank keeps a shard.

Run: torchrun --nproc-per-node 2 snippets/sharding/01_shards.py
"""

# guide: ranks=2

import math
import os
import traceback

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import get_model_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor, Shard
from torch.distributed.tensor.debug import CommDebugMode

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
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
        fully_shard(layer, mesh=mesh)  # one group per layer: gathered and freed layer by layer
# The root: takes what is left (here nothing) and runs the groups.
sharded = fully_shard(model, mesh=mesh)
# Private state, read alike on torch 2.11 to 2.14: a module's one group of parameters, or None.
has_group = [m._get_fsdp_state()._fsdp_param_group is not None for m in (model[0], model[2], model)]

# The other order: the root's call takes every parameter, and a layer's call after it fails.
root_first = fully_shard(nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), mesh=mesh)
root_took_all = all(isinstance(p, DTensor) for p in root_first.parameters())
try:
    fully_shard(root_first[0], mesh=mesh)
    root_first_error, from_mesh_join = "", False
except (TypeError, RuntimeError) as error:  # which, depends on the mesh (named dimensions or not)
    root_first_error = f"{type(error).__name__}: {error}"
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    from_mesh_join = "_concatenate" in frames  # raised where FSDP joins tensor-parallel meshes


def stored(t: torch.Tensor) -> int:
    """Numbers in the memory behind t, which may be more than t shows."""
    return t.untyped_storage().nbytes() // t.element_size()


total = sum(p.numel() for p in model.parameters())  # the global shapes, as on one device
local_numel = sum(p.to_local().numel() for p in model.parameters())  # this rank's part (rows)
stored_numel = sum(stored(p.to_local()) for p in model.parameters())  # what it allocated
padded_rows = all(  # every rank allocates ceil(rows / ranks) rows of each parameter
    stored(p.to_local()) == math.ceil(p.shape[0] / world_size) * p[0].numel()
    for p in model.parameters()
)
own_storage = len({p.to_local().untyped_storage().data_ptr() for p in model.parameters()}) == 4
for name, p in model.named_parameters():
    local_shape = tuple(p.to_local().shape)
    print(f"{name:8} {type(p).__name__} {str(tuple(p.shape)):7} {p.placements} local {local_shape}")
print(f"{total} numbers in the model; this rank's part {local_numel}, allocated {stored_numel}")
if rank == 0:
    print("a parameter group in model[0], model[2], the root:", has_group)
    print("fully_shard on a layer after the root:", root_first_error.split(":")[0] or "no error")

first_weight = model[0].weight
placement = repr(first_weight.placements[0])
all_dtensors = all(isinstance(p, DTensor) for p in model.parameters())
first_rows = first_weight.to_local().shape[0]  # rows of the (8, 10) weight on this rank
out_rows = model[2].weight.to_local().shape[0]  # rows of the (3, 8) weight on this rank
chunk_rows = [len(chunk) for chunk in torch.chunk(torch.arange(3), world_size)]
full_equals_original = torch.equal(first_weight.full_tensor(), reference[0].weight)
keys = list(model.state_dict())
model_class = type(model).__name__

# During the layer's forward, FSDP has gathered the full weight; afterwards it is a shard again.
full_weight = first_weight.full_tensor()
seen = []


def look(layer: nn.Module, args: tuple) -> None:
    """Runs just before the layer's forward: what is its weight now?"""
    weight = layer.weight
    seen.append((type(weight), tuple(weight.shape), torch.equal(weight, full_weight)))


model[0].register_forward_pre_hook(look)
x = torch.randn(4, 10).to(device)  # same seed on every rank: the same batch everywhere
y = model(x)
resharded_after_forward = isinstance(model[0].weight, DTensor)  # before any backward reshards it
type_in_forward, gathered_shape, gathered_values = seen[0]
same_output = torch.allclose(y, reference(x))

# One training step: the gradients and Adam's running averages are DTensors laid out like the
# parameters, each rank holding the same part of them.
optimizer = torch.optim.Adam(model.parameters())
y.sum().backward()
optimizer.step()
laid_out_like_parameters = all(
    isinstance(tensor, DTensor)
    and tensor.placements == p.placements
    and tensor.to_local().shape == p.to_local().shape
    for p in model.parameters()
    for tensor in (p.grad, optimizer.state[p]["exp_avg"], optimizer.state[p]["exp_avg_sq"])
)
adam_stored = sum(stored(optimizer.state[p]["exp_avg"].to_local()) for p in model.parameters())

# In the backward pass, how many groups are gathered at once? Three layers show it.
deep = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)).to(device)
for layer in deep:
    fully_shard(layer, mesh=mesh)
fully_shard(deep, mesh=mesh)
in_backward = []  # at each layer's input gradient: all-gathers so far, layers with a full weight


def look_back(layer: nn.Module, args: tuple) -> None:
    """Runs just before a layer's forward: hooks the gradient of its input, reached in backward."""

    def record(grad: torch.Tensor) -> None:
        all_gathers = comm.get_comm_counts()[torch.ops.c10d._allgather_base_]
        full = [i for i, d in enumerate(deep) if type(d.weight) is nn.Parameter]  # not a DTensor
        in_backward.append((all_gathers, full))

    args[0].register_hook(record)


for layer in deep:
    layer.register_forward_pre_hook(look_back)
y_deep = deep(torch.randn(2, 4, device=device, requires_grad=True))
with CommDebugMode() as comm:  # counts the collectives this rank takes part in
    y_deep.sum().backward()
gathers_so_far = [gathers for gathers, _ in in_backward]  # at layers 2, 1, 0
full_weights = [full for _, full in in_backward]

gathered = [0] * world_size
dist.all_gather_object(gathered, local_numel)  # every rank's count, for the check below

# fully_shard sends nothing between the ranks: each keeps the rows of its own model.
torch.manual_seed(rank)  # a different model on each rank, on purpose
mixed = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4)).to(device)
mixed[1].running_mean.fill_(rank)  # a buffer that differs between the ranks too
built = [None] * world_size
dist.all_gather_object(built, mixed[0].weight.detach().cpu())  # each rank's own weight
fully_shard(mixed, mesh=mesh)
mixed_full = mixed[0].weight.full_tensor().cpu()
own_rows_kept = torch.equal(mixed_full, torch.cat([built[0][:2], built[1][2:]]))
mixed.eval()(torch.randn(8, 2).to(device))  # eval: the forward leaves running_mean as it is
means = [None] * world_size
dist.all_gather_object(means, mixed[1].running_mean.cpu())
own_buffers_kept = all(torch.equal(m, torch.full((4,), float(r))) for r, m in enumerate(means))
mixed[1].reset_running_stats()  # the same running statistics on every rank again
mixed.train()(torch.randn(8, 2).to(device))  # training: each rank's statistics of its own batch
dist.all_gather_object(means, mixed[1].running_mean.cpu())
means_drift_apart = not torch.equal(means[0], means[1])  # nothing averages or broadcasts them
buffer_is_plain = type(mixed[1].running_mean) is torch.Tensor
state_types = {k: type(v).__name__ for k, v in mixed.state_dict().items()}
dcp_types = {k: type(v).__name__ for k, v in get_model_state_dict(mixed).items()}
param_type, buffer_type = state_types["1.weight"], state_types["1.running_mean"]
if rank == 0:
    print("backward at layers 2, 1, 0: all-gathers so far", gathers_so_far, "full", full_weights)
    print("seed = rank: weight = rank 0's rows 0-1 + rank 1's rows 2-3:", own_rows_kept)
    print("running_mean: each rank keeps its own:", own_buffers_kept)
    print("running_mean after a training forward: equal on the ranks:", not means_drift_apart)
    print(f"state_dict: 1.weight {param_type}, 1.running_mean {buffer_type}")


# shard_placement_fn chooses the dimension to cut, within limits.
def columns(p: nn.Parameter) -> Shard:
    return Shard(1)


by_columns = fully_shard(nn.Linear(4, 3, bias=False), mesh=mesh, shard_placement_fn=columns)
columns_local = tuple(by_columns.weight.to_local().shape)  # the (3, 4) weight cut into columns
columns_stored = stored(by_columns.weight.to_local())
uneven_error = scalar_error = ""
try:
    fully_shard(nn.Linear(3, 4, bias=False), mesh=mesh, shard_placement_fn=columns)  # 3 columns
except NotImplementedError as error:
    uneven_error = str(error)
scalar = nn.Module()
scalar.gain = nn.Parameter(torch.tensor(2.0, device=device))  # no dimension at all
try:
    fully_shard(scalar, mesh=mesh)
except ValueError as error:
    scalar_error = str(error)
if rank == 0:
    print("Shard(1) on a (3, 4) weight: local", columns_local)
    print("Shard(1) on 3 columns:", uneven_error)
    print("a scalar:", scalar_error)
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert total == 115  # the worked example's count
assert local_numel == [62, 53][rank] and sum(gathered) == total  # witness: shards-add-up
assert stored_numel == 62 and padded_rows and own_storage  # witness: padded-storage
assert out_rows == chunk_rows[rank] and chunk_rows == [2, 1]  # witness: split-like-chunk
assert columns_local == (3, 2) and columns_stored == 6  # witness: shard-columns-even
assert uneven_error.startswith(  # witness: uneven-dim-refused
    "FSDP does not support uneven sharding on dim"
)
assert scalar_error.startswith("fully_shard doesn't support scalar")  # witness: scalar-refused
assert all_dtensors  # witness: parameters-are-dtensors
assert placement == "Shard(dim=0)"
assert all(p.placements == (Shard(0),) for p in model.parameters())  # witness: shard-0
assert full_equals_original  # witness: full-tensor-is-original
assert keys == ["0.weight", "0.bias", "2.weight", "2.bias"]  # witness: same-keys
assert isinstance(model, FSDPModule) and isinstance(model, nn.Sequential)  # witness: class-swap
assert sharded is model  # witness: returns-the-same-object
assert has_group == [True, True, False]  # witness: no-parameters-no-group
tensor_parallel_path = ("TypeError: Invariant encountered", "RuntimeError: Cannot concatenate")
root_first_fails = root_first_error.startswith(tensor_parallel_path) and from_mesh_join
assert root_took_all and root_first_fails  # witness: root-first-fails
assert model_class == "FSDPSequential"
assert (
    type_in_forward is nn.Parameter and gathered_shape == (8, 10) and gathered_values
)  # witness: gathered
assert resharded_after_forward  # witness: resharded-after
assert same_output  # witness: same-output
assert (  # witness: backward-prefetch
    gathers_so_far == [2, 3, 3]  # layers 2 and 1, then 0 when 1 starts, then none
    and full_weights == [[2], [1], [0]]  # the layer before is a shard again
)
assert laid_out_like_parameters  # witness: grads-and-state-like-parameters
assert adam_stored == local_numel == [62, 53][rank]  # witness: adam-state-unpadded
assert own_rows_kept and own_buffers_kept  # witness: no-broadcast
assert means_drift_apart  # witness: buffers-drift-in-training
buffer_keys = ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
param_keys = ["0.weight", "0.bias", "1.weight", "1.bias"]
assert (  # witness: buffers-plain
    buffer_is_plain
    and all(state_types[k] == dcp_types[k] == "Tensor" for k in buffer_keys)
    and all(state_types[k] == dcp_types[k] == "DTensor" for k in param_keys)
)

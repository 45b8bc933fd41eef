"""A model too large for one device: build it on meta, shard it, allocate the shards, initialize.

Run: torchrun --nproc-per-node 2 snippets/sharding/02_meta_init.py
"""

# guide: ranks=2

import math
import os
import warnings

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor
from torch.distributed.tensor.debug import CommDebugMode
from torch.utils._python_dispatch import TorchDispatchMode

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))


class Scale(nn.Module):
    """A learned gain per feature, set in __init__: it has no reset_parameters."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


class Net(nn.Sequential):
    def __init__(self) -> None:
        super().__init__(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3), Scale(3))

    @torch.no_grad()
    def init_weights(self) -> None:
        """Write every tensor: the layers' own scheme, and what Scale.__init__ wrote."""
        for module in self.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self[3].gain.fill_(1.0)


def shard(net: Net, **options) -> Net:
    """fully_shard each Linear, then the root, whose group holds what is left: Scale's gain."""
    fully_shard(net[0], mesh=mesh, **options)
    fully_shard(net[2], mesh=mesh, **options)
    return fully_shard(net, mesh=mesh, **options)


with torch.device("meta"):  # shapes only: nothing is allocated, whatever the model's size
    model = shard(Net())
still_on_meta = all(isinstance(p, DTensor) and p.device.type == "meta" for p in model.parameters())
parameters_before = list(model.parameters())
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # made before to_empty, on purpose

model.to_empty(device=device)  # allocates this rank's shards, and initializes nothing
same_parameters = all(a is b for a, b in zip(parameters_before, model.parameters()))
total = sum(p.numel() for p in model.parameters())
local_numel = sum(p.to_local().numel() for p in model.parameters())  # this rank's part (rows)
storages = [p.to_local().untyped_storage() for p in model.parameters()]  # padded: see above
allocated_numel = sum(s.nbytes() for s in storages) // model[0].weight.element_size()
on_device = all(s.device.type == device.type for s in storages)  # real memory, not meta
print(f"after to_empty: this rank's part {local_numel} of {total}, allocated {allocated_numel}")

# The check from the lazy chapter: mark every tensor, initialize, look for the mark.
with torch.no_grad(), CommDebugMode() as init_comms:  # counts collectives: none expected
    for p in model.parameters():
        p.fill_(math.nan)
    marked_all = all(p.to_local().isnan().all() for p in model.parameters())  # every shard
# On a CPU mesh the ranks would draw from one identical stream (the next example): seed each
# rank differently there; CUDA's tracker gives each shard its own numbers from one seed.
torch.manual_seed(1000 + rank if device.type == "cpu" else 0)
with warnings.catch_warnings():  # the CPU mesh's warning about that, taken care of just above
    warnings.filterwarnings("ignore", "DTensor random operators")
    with CommDebugMode() as loop_comms:
        for module in model.modules():  # the loop that looks sufficient
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    missed_by_loop = [n for n, p in model.named_parameters() if p.to_local().isnan().any()]
    model.init_weights()  # the model's own method writes every tensor
missed_by_init_weights = [n for n, p in model.named_parameters() if p.to_local().isnan().any()]
if rank == 0:
    print("still NaN after the reset_parameters loop:", ", ".join(missed_by_loop))
    print("still NaN after init_weights:", missed_by_init_weights)
gain = model[3].gain.full_tensor().tolist()
missed = ", ".join(missed_by_loop)

# The optimizer made before to_empty holds the same Parameter objects: its step updates the shards.
torch.manual_seed(0)  # the common seed again: the same batch on every rank
x = torch.randn(4, 10).to(device)
shards_before = [p.to_local().clone() for p in model.parameters()]
loss = model(x).sum()
before_backward = type(model[3].gain).__name__
loss.backward()
optimizer.step()
after_backward = type(model[3].gain).__name__
step_updated_shards = all(
    not torch.equal(before, p.to_local()) for before, p in zip(shards_before, model.parameters())
)

# By default the root's group (the gain) is not resharded after its forward: backward starts there.
full_gain = model[3].gain.full_tensor()  # the whole gain, gathered from the shards
with torch.no_grad():
    model(x)  # a forward with no backward after it, as in evaluation
after_forward = [type(p).__name__ for p in model.parameters()]
gain_is_full = torch.equal(model[3].gain.detach(), full_gain)  # all 3 numbers, on every rank
saved = model.state_dict()  # taken here, so that only load_state_dict runs in its call below
calls = {  # .to(), .half(), .float() and to_empty() all go through Module._apply, as .cuda() does
    "state_dict()": model.state_dict,
    "load_state_dict()": lambda: model.load_state_dict(saved),
    "to()": lambda: model.to(device),
    "float()": model.float,
    "reshard()": model.reshard,
    "to_empty()": lambda: model.to_empty(device=device),  # leaves the values unwritten
    "half()": model.half,  # last: the model cannot run after it (below)
}
gain_types = {"backward": (before_backward, after_backward)}  # 3.gain's type before, after
for name, call in calls.items():
    with torch.no_grad():
        model(x)  # leaves the gain gathered again
    before = type(model[3].gain).__name__
    call()
    gain_types[name] = (before, type(model[3].gain).__name__)
try:  # after half(): FSDP copies into float32 tensors it allocated at the first forward pass
    model(x.half())
    half_forward_error = ""
except RuntimeError as error:
    half_forward_error = str(error)
fresh = shard(Net().to(device)).half()  # converted before its first forward pass: it runs
half_dtypes = (fresh(x.half()).dtype, fresh[0].weight.dtype)  # output, shard


class CollectiveDtypes(TorchDispatchMode):
    """Records the input dtype of each all-gather (what FSDP sends) and reduce-scatter."""

    def __init__(self) -> None:
        super().__init__()
        self.gathered, self.dtypes = [], []  # all-gathers, reduce-scatters

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.c10d._allgather_base_.default:  # (output, input, group, ...)
            self.gathered.append(args[1].dtype)
        if func is torch.ops.c10d._reduce_scatter_base_.default:  # (output, input, group, ...)
            self.dtypes.append(args[1].dtype)
        return func(*args, **(kwargs or {}))


# To compute in float16 but keep float32 shards, FSDP casts what it gathers.
mixed = shard(Net().to(device), mp_policy=MixedPrecisionPolicy(param_dtype=torch.float16))
with CollectiveDtypes() as forward_comms:
    y = mixed(x)
gathered = (type(mixed[3].gain), mixed[3].gain.dtype)  # the root's gain: still gathered
with CollectiveDtypes() as reduced:
    y.sum().backward()
mixed_dtypes = (y.dtype, mixed[0].weight.dtype, mixed[0].weight.grad.dtype)  # output, shard, grad
# reduce_dtype is None unless set, and the gradients are averaged in the dtype they come in:
# ask for float32 to average them in float32.
policy = MixedPrecisionPolicy(param_dtype=torch.float16, reduce_dtype=torch.float32)
mixed_32 = shard(Net().to(device), mp_policy=policy)
with CollectiveDtypes() as reduced_32:
    mixed_32(x).sum().backward()
if rank == 0:
    print("optimizer made before to_empty, step updated every shard:", step_updated_shards)
    print("types after a no_grad forward:", after_forward)
    print("3.gain before and after each call:", gain_types)
    print("a forward pass after half():", half_forward_error.splitlines()[0])
    print("half() before the first forward pass: output, shard", *half_dtypes)
    print("MixedPrecisionPolicy: output, shard, gradient", *mixed_dtypes)
    print("all-gathers in the forward pass sent", forward_comms.gathered)
    print("gradients reduced in", reduced.dtypes[0], "| with float32:", reduced_32.dtypes[0])
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert still_on_meta  # witness: sharded-on-meta
assert same_parameters  # witness: to-empty-keeps-parameters
assert local_numel == [64, 54][rank] and total == 118
assert allocated_numel == 64 and on_device  # witness: only-shards-allocated
assert missed_by_loop == ["3.gain"]  # witness: loop-misses-gain
# On a CUDA mesh the first random op also broadcasts rank 0's random state, once (see the page).
rng_sync = {torch.ops.c10d.broadcast_: 1} if device.type == "cuda" else {}
local_writes = init_comms.get_total_counts() == 0 and loop_comms.get_comm_counts() == rng_sync
assert marked_all and missed_by_loop == ["3.gain"]  # witness: writes-own-shard
assert local_writes  # witness: no-collective-on-cpu
assert missed_by_init_weights == [] and gain == [1.0, 1.0, 1.0]  # witness: init-weights-writes-all
assert step_updated_shards  # witness: optimizer-before-to-empty
assert (  # witness: root-stays-gathered
    after_forward == ["DTensor"] * 4 + ["Parameter"] and gain_is_full
)
assert all(  # witness: calls-reshard-root
    types == ("Parameter", "DTensor") for types in gain_types.values()
)
expected_half = half_forward_error.startswith("Expected out tensor to have dtype c10::Half")
half_breaks_forward = expected_half and "but got float instead" in half_forward_error
assert half_breaks_forward  # witness: half-breaks-forward
assert half_dtypes == (torch.float16, torch.float16)  # witness: half-before-first-forward
assert gathered == (nn.Parameter, torch.float16)  # witness: mixed-gathers-half
assert forward_comms.gathered == [torch.float16] * 3  # witness: mixed-sends-half
assert mixed_dtypes == (torch.float16, torch.float32, torch.float32)  # witness: mixed-precision
assert (  # witness: mixed-reduces-in-param-dtype
    MixedPrecisionPolicy(param_dtype=torch.float16).reduce_dtype is None
    and reduced.dtypes == [torch.float16] * 3  # one reduce-scatter per group: 0, 2 and the root
    and reduced_32.dtypes == [torch.float32] * 3
    and mixed_32[0].weight.grad.dtype == torch.float32
)

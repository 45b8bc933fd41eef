"""Tied weights under sharding: one tensor must live in one FSDP group.

Run: torchrun --nproc-per-node 2 snippets/sharding/04_tied.py
"""

# guide: ranks=2

import os
import warnings

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])  # a GPU per local rank
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
mesh = init_device_mesh(device.type, (world_size,))


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int = 10, d_model: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.body = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, vocab_size, bias=False)
        self.out.weight = self.embed.weight  # tied: one (vocab_size, d_model) matrix

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.body(self.embed(tokens))))


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


tokens = torch.tensor([1, 2, 3]).to(device)
torch.manual_seed(0)
tied_count = count(TinyLM())

# Wrong: the two halves of the tie in two groups.
torch.manual_seed(0)
apart = TinyLM()
fully_shard(apart.embed, mesh=mesh)
fully_shard(apart.out, mesh=mesh)  # no error yet, but the tie is gone
fully_shard(apart, mesh=mesh)
apart_tied = apart.out.weight is apart.embed.weight
apart_count = count(apart)
error_message = root_only_message = ""
try:
    apart(tokens)
except ValueError as error:
    error_message = str(error)
if rank == 0:
    print(f"two groups: tied {apart_tied}, {apart_count} parameters instead of {tied_count}")
    print("first forward:", error_message)

# A call skips the submodules an earlier call sharded, not the parameters it took.
torch.manual_seed(0)
root_only = TinyLM()
tied_weight = root_only.embed.weight
fully_shard(root_only.embed, mesh=mesh)  # registers a new, sharded Parameter on embed only
first_call_untied = (
    root_only.embed.weight is not tied_weight and root_only.out.weight is tied_weight
)
embed_sharded = isinstance(root_only.embed.weight, DTensor)  # the new Parameter is a shard
out_unsharded = not isinstance(root_only.out.weight, DTensor)  # before the root's call
fully_shard(root_only, mesh=mesh)  # takes body and out, and the old out.weight with it
root_took_tied = isinstance(root_only.out.weight, DTensor)
try:
    root_only(tokens)
except ValueError as error:
    root_only_message = str(error)
# torch 2.12 added a check at the first forward pass that refuses both layouts; 2.11 runs them.
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # 2.12 releases and later
has_check = release >= (2, 12)
refused = bool(error_message)
if rank == 0:
    print("embed sharded alone: out keeps the old Parameter:", first_call_untied)
    print("first forward:", root_only_message)
    if refused:
        print("this torch refuses a tied weight in two groups at the first forward pass")
    else:
        print(f"torch {torch.__version__} has no such check: both forward passes ran")

# No call on the root: each outermost sharded module is a root, and no check sees both halves.
torch.manual_seed(0)
no_root = TinyLM().to(device)  # fully_shard moves only the modules it takes, and none takes body
fully_shard(no_root.embed, mesh=mesh)
fully_shard(no_root.out, mesh=mesh)
no_root(tokens)  # raises nothing: no root sees both groups
no_root_tied = no_root.out.weight is no_root.embed.weight
# Each group became a root at the forward pass (read from FSDP's private state).
both_roots = all(part._get_fsdp_state()._is_root for part in (no_root.embed, no_root.out))
if rank == 0:
    print(f"no call on the root: the forward pass ran, tied {no_root_tied}")

# Right: both modules in one group, built on meta and materialized.
with torch.device("meta"):
    model = TinyLM()
fully_shard([model.embed, model.out], mesh=mesh)  # one group, one all-gather for both
fully_shard(model.body, mesh=mesh)
fully_shard(model, mesh=mesh)
weight_before = model.embed.weight
model.to_empty(device=device)
kept_object = model.embed.weight is weight_before  # DTensor parameters are swapped in place
torch.manual_seed(1000 + rank if device.type == "cpu" else 0)  # see the previous example
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "DTensor random operators")
    model.embed.reset_parameters()  # a tied tensor: initialize it once, through one owner
    model.body.reset_parameters()
torch.manual_seed(0)  # the common seed again after the initialization
kept_tied = model.out.weight is model.embed.weight
model_count = count(model)
# An unsharded, tied copy with the same values: one step on each, to compare.
reference = TinyLM().to(device)
reference.load_state_dict({name: value.full_tensor() for name, value in model.state_dict().items()})
for net in (model, reference):
    net(tokens).sum().backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
still_tied = model.out.weight is model.embed.weight
step_like_reference = torch.allclose(model.embed.weight.full_tensor(), reference.embed.weight)
if rank == 0:
    print(f"one group: tied {kept_tied}, {model_count} parameters, tied after a step {still_tied}")
    print("after a step, equal to the unsharded tied model's:", step_like_reference)

with torch.device("meta"):  # the same model unsharded: to_empty makes new Parameters
    plain = TinyLM()
plain.to_empty(device=device)
plain_tied = plain.out.weight is plain.embed.weight
if rank == 0:
    print(f"unsharded, after to_empty: tied {plain_tied}")
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert tied_count == 60 and apart_count == 100
assert not apart_tied  # witness: two-groups-untie
assert first_call_untied and embed_sharded and out_unsharded  # witness: first-call-unties
assert root_took_tied  # witness: root-takes-tied-again
assert bool(root_only_message) == refused == has_check  # from 2.12, both layouts are refused
if release >= (2, 12):  # both forward passes must have raised, with these messages
    assert root_only_message.startswith(  # witness: root-only-refused
        "Parameter 'embed.weight' is shared with"
    )
    assert (  # witness: forward-refuses
        error_message.startswith("Parameter 'out.weight' is shared with")
        and "use fully_shard([module_a, module_b])" in error_message
    )
assert both_roots and not no_root_tied  # witness: no-root-no-check
assert kept_tied and model_count == tied_count  # witness: one-group-keeps-tie
assert kept_object  # witness: to-empty-swaps-in-place
assert still_tied and step_like_reference  # witness: tie-survives-step
assert not plain_tied  # witness: plain-to-empty-unties

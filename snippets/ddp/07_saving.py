"""Checkpoints with DDP: the `module.` prefix, saving from model.module on rank 0, loading on
every rank.

Run: torchrun --nproc-per-node 2 snippets/ddp/07_saving.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
from pathlib import Path

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


def build() -> nn.Module:
    return nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).to(device)


def same_on_all_ranks(tensor: torch.Tensor) -> bool:
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor.detach())
    return all(torch.equal(copies[0], copy) for copy in copies)


torch.manual_seed(0)
ddp_model = DDP(build())
optimizer = torch.optim.SGD(ddp_model.parameters(), lr=0.1)
torch.manual_seed(rank)  # each rank its own data
trained_weights_agree = grads_agree = True
step_collectives = 0  # collectives run by the optimizer steps, by the group's private count
for step in range(2):
    optimizer.zero_grad()
    ddp_model(torch.randn(4, 10).to(device)).sum().backward()
    grads_agree = grads_agree and all(same_on_all_ranks(p.grad) for p in ddp_model.parameters())
    collectives_before = dist.group.WORLD._get_sequence_number_for_group()
    optimizer.step()  # the same averaged gradient on every rank: the same step
    step_collectives += dist.group.WORLD._get_sequence_number_for_group() - collectives_before
    step_agrees = all(same_on_all_ranks(p) for p in ddp_model.module.parameters())
    trained_weights_agree = trained_weights_agree and step_agrees

wrapped_keys = list(ddp_model.state_dict())
inner_keys = list(ddp_model.module.state_dict())
if rank == 0:
    print(
        f"two steps: gradients agree {grads_agree}, collectives in optimizer.step(): "
        f"{step_collectives}, weights agree {trained_weights_agree}"
    )
    print("DDP keys:  ", wrapped_keys[:3], "...")
    print("inner keys:", inner_keys[:3], "...")
first_wrapped_key, first_inner_key = wrapped_keys[0], inner_keys[0]
try:  # the wrapper's keys into the plain model
    build().load_state_dict(ddp_model.state_dict())
    prefixed_error = ""
except RuntimeError as error:
    prefixed_error = str(error)
if rank == 0:  # the error's two lists, cut after their first key
    for line in prefixed_error.splitlines()[1:]:
        print("into the plain model:", line.strip().split(", ")[0], "...")

# A folder every rank can read (one machine here; several need a shared file system):
# rank 0 creates it and sends its name to the others.
shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
path = Path(shared[0]) / "model.pt"
if rank == 0:
    torch.save(ddp_model.module.state_dict(), path)  # one writer, plain keys
dist.barrier()  # nobody reads before rank 0 has written

# Resuming: a new model wrapped in DDP, then a load on rank 0 only. The wrapper broadcast
# parameters once, when it was built, so the ranks now disagree.
torch.manual_seed(1)
resumed = DDP(build())
if rank == 0:
    resumed.module.load_state_dict(torch.load(path, map_location=device))
rank0_only_agrees = same_on_all_ranks(resumed.module[0].weight)
# Buffers are different: the next forward pass broadcasts rank 0's, the loaded ones.
buffers_agreed_before = same_on_all_ranks(resumed.module[1].running_var)
resumed.eval()
with torch.no_grad():
    resumed(torch.randn(4, 10).to(device))
buffers_agree = same_on_all_ranks(resumed.module[1].running_var)
saved_var = torch.load(path, map_location=device)["1.running_var"]
buffers_loaded = torch.equal(resumed.module[1].running_var, saved_var)
resumed.train()
resumed(torch.randn(4, 10).to(device)).sum().backward()  # a training pass does not sync them
weights_still_differ = not same_on_all_ranks(resumed.module[0].weight)
with resumed.join(enable=False):
    pass  # a disabled context broadcasts nothing when it ends
disabled_join_differs = not same_on_all_ranks(resumed.module[0].weight)
print(f"loaded on rank 0 only: weights agree {rank0_only_agrees}, buffers {buffers_agreed_before}")
print(f"then an eval pass:     buffers agree {buffers_agree}")
print(f"and a training pass:   weights agree {not weights_still_differ}")
print(f"a disabled join():     weights agree {not disabled_join_differs}")

# The end of a join() context broadcasts parameters and buffers again, from the last rank to
# join: here both joined at once, and the higher rank, 1, wins over rank 0's loaded weights.
rank1_weight = resumed.module[0].weight.detach().clone()
dist.broadcast(rank1_weight, src=1)
with resumed.join():
    pass
join_took_rank1 = torch.equal(resumed.module[0].weight, rank1_weight)
join_agrees = same_on_all_ranks(resumed.module[0].weight)
print(f"after a join() context: weights agree {join_agrees}, rank 1's: {join_took_rank1}")
# Rank 0 loads again, then has one batch more than rank 1: now it joins last, and wins.
if rank == 0:
    resumed.module.load_state_dict(torch.load(path, map_location=device))
uneven_differed = not same_on_all_ranks(resumed.module[0].weight)
with resumed.join():
    if rank == 0:
        resumed(torch.randn(4, 10).to(device)).sum().backward()  # updates its running stats
    last_state = [resumed.module[0].weight.detach().clone(), resumed.module[1].running_var.clone()]
for tensor in last_state:
    dist.broadcast(tensor, src=0)  # rank 0's weight and statistics at the end of its batch
uneven_took_rank0 = torch.equal(resumed.module[0].weight, last_state[0])
uneven_buffers_rank0 = torch.equal(resumed.module[1].running_var, last_state[1])
uneven_agrees = same_on_all_ranks(resumed.module[0].weight)
print(f"rank 0 joins last:      weights agree {uneven_agrees}, rank 0's: {uneven_took_rank0}")

# Every rank loads the file, onto its own device.
resumed.module.load_state_dict(torch.load(path, map_location=device))
every_rank_agrees = same_on_all_ranks(resumed.module[0].weight)
matches_trained = torch.equal(resumed.module[0].weight, ddp_model.module[0].weight)
print(f"loaded on every rank:  weights agree {every_rank_agrees}")

# assign=True into a wrapped model: new Parameters, which DDP's reducer does not hold.
assigned = DDP(build())
held_weight = assigned.module[0].weight
assigned.module.load_state_dict(torch.load(path, map_location=device), assign=True)
new_parameter = assigned.module[0].weight is not held_weight
assigned_optimizer = torch.optim.SGD(assigned.parameters(), lr=0.1)  # the new Parameters
assigned_averaged, assign_error = None, None
try:
    for step in range(2):  # the second forward pass is where DDP would raise
        assigned_optimizer.zero_grad()
        assigned((torch.randn(4, 10) + rank).to(device)).sum().backward()  # each rank its own data
        if step == 0:
            assigned_averaged = same_on_all_ranks(assigned.module[0].weight.grad)
        assigned_optimizer.step()
except RuntimeError as error:
    assign_error = error
no_assign_error = assign_error is None
assigned_agree = same_on_all_ranks(assigned.module[0].weight)
print(f"loaded with assign=True: new Parameter {new_parameter}, grads averaged {assigned_averaged}")
print(f"  two steps, error: {assign_error}; weights agree: {assigned_agree}")
# With the swap flag (see the saving page), a load of the parameters DDP reduces is refused: the
# swap refuses a parameter held elsewhere, as by DDP's reducer. A plain model loads. _use_count()
# is the private count of references to a tensor that the swap checks.
swap_errors = []
swap_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    plain = build()
    plain_count = plain[0].weight._use_count()
    plain.load_state_dict(torch.load(path, map_location=device))
    plain_swap_loads = True
    wrapped_counts = []
    for assign in (False, True):
        swapped = DDP(build())
        wrapped_counts.append(swapped.module[0].weight._use_count())
        try:
            swapped.module.load_state_dict(torch.load(path, map_location=device), assign=assign)
            swap_errors.append("")
        except RuntimeError as error:
            swap_errors.append(str(error))
    # A layer frozen before wrapping is not among the parameters DDP reduces: the swap loads it.
    partly_frozen = build()
    partly_frozen[0].requires_grad_(False)
    frozen_wrapped = DDP(partly_frozen)
    frozen_count = partly_frozen[0].weight._use_count()
    saved = torch.load(path, map_location=device)
    first_layer = {key: value for key, value in saved.items() if key.startswith("0.")}
    frozen_wrapped.module.load_state_dict(first_layer, strict=False)
    frozen_swap_loads = torch.equal(partly_frozen[0].weight, saved["0.weight"])
    # Frozen after wrapping: DDP chose what to reduce when it was built, and still holds it.
    frozen_late = DDP(build())
    frozen_late.module[0].requires_grad_(False)
    late_count = frozen_late.module[0].weight._use_count()
    try:
        frozen_late.module.load_state_dict(first_layer, strict=False)
        late_error = ""
    except RuntimeError as error:
        late_error = str(error)
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_before)
if rank == 0:
    print(f"swap flag, plain model: loads {plain_swap_loads}")
    print(f"  weight's use_count: plain {plain_count}, wrapped {wrapped_counts[0]}")
    print(
        f"  layer frozen before wrapping {frozen_count} (loads {frozen_swap_loads}),",
        f"after wrapping {late_count} (loads {not late_error})",
    )
    for assign, swap_error in zip((False, True), swap_errors):
        print(f"swap flag, assign={assign}:", swap_error.split("\t")[1].split(",")[0], "...")

dist.barrier()  # everyone has read the file
if rank == 0:
    shutil.rmtree(shared[0])
dist.destroy_process_group()

assert first_wrapped_key == "module." + first_inner_key  # witness: module-prefix
assert wrapped_keys == ["module." + key for key in inner_keys]
missing_plain = f'Missing key(s) in state_dict: "{first_inner_key}"' in prefixed_error
unexpected_prefixed = f'Unexpected key(s) in state_dict: "{first_wrapped_key}"' in prefixed_error
assert missing_plain and unexpected_prefixed  # witness: prefixed-not-loadable
same_step = grads_agree and step_collectives == 0 and trained_weights_agree
assert same_step  # witness: same-step-everywhere
assert not rank0_only_agrees and weights_still_differ  # witness: load-after-wrap-not-broadcast
assert (
    not buffers_agreed_before and buffers_agree and buffers_loaded
)  # witness: loaded-buffers-broadcast
assert every_rank_agrees and matches_trained  # witness: load-on-every-rank
assert disabled_join_differs  # witness: disabled-join-broadcasts-nothing
assert (
    join_agrees
    and join_took_rank1  # a tie: the higher rank
    and uneven_differed
    and uneven_took_rank0  # rank 0 joined last: its weights, not the highest rank's
    and uneven_buffers_rank0  # with its statistics, updated by its last batch
)  # witness: join-end-broadcasts-parameters
not_averaged = new_parameter and held_weight.grad is None and assigned_averaged is False
assert not_averaged  # witness: assign-after-wrap-not-averaged
assert no_assign_error and not assigned_agree  # witness: assign-after-wrap-drifts
swap_refused = len(swap_errors) == 2 and all(
    "While swapping the parameter" in error and "use_count" in error for error in swap_errors
)
assert swap_refused and plain_swap_loads  # witness: swap-refuses-wrapped
counts_in_message = all(
    "to be 1 or 2 with an AccumulateGrad node" in error and f"but got {count}" in error
    for error, count in zip(swap_errors, wrapped_counts)
)
counted = plain_count == 1 and all(count > 2 for count in wrapped_counts)
assert counted and counts_in_message  # witness: swap-counts-references
late_refused = late_count > 2 and f"but got {late_count}" in late_error
assert frozen_count == 1 and frozen_swap_loads and late_refused  # witness: frozen-not-held

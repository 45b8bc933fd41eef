"""BatchNorm under DDP: each rank updates its own running statistics, and a forward pass through
the wrapper that follows a training forward pass first copies rank 0's buffers to all ranks.

Run: torchrun --nproc-per-node 2 snippets/ddp/05_buffers.py
"""

# guide: ranks=2

import copy
import inspect
import os
import warnings

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


def collectives_in(forward) -> int:
    """The collectives a call runs, by the group's private count of every collective so far."""
    before = dist.group.WORLD._get_sequence_number_for_group()
    forward()
    return dist.group.WORLD._get_sequence_number_for_group() - before


def gathered(tensor: torch.Tensor) -> list[torch.Tensor]:
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor)
    return copies


warned_options: list[str] = []  # the options whose use gave a FutureWarning
warning_texts: list[str] = []


def after_wrapping(**options) -> tuple[bool, bool, bool]:
    """Give each rank its own running variance and weight, wrap the layer, and check whether every
    rank then holds rank 0's buffers and weights, and whether a forward pass broadcasts buffers."""
    layer = nn.BatchNorm1d(3).to(device)
    with torch.no_grad():
        layer.running_var.fill_(2 + rank)  # rank 0's are all 2, not BatchNorm's default 1
        layer.weight.fill_(2 + rank)
    with warnings.catch_warnings(record=True) as caught:  # kept off the output
        warnings.simplefilter("always")
        ddp_layer = DDP(layer, **options)
    texts = [str(warning.message) for warning in caught if warning.category is FutureWarning]
    if texts:
        warned_options.extend(options)  # broadcast_buffers: deprecated in 2.13
        warning_texts.extend(texts)
    rank0s = torch.full((3,), 2.0, device=device)
    buffers_from_rank0 = all(torch.equal(c, rank0s) for c in gathered(layer.running_var))
    weights_from_rank0 = all(torch.equal(c, rank0s) for c in gathered(layer.weight.detach()))
    ddp_layer(torch.arange(24.0, device=device).view(8, 3) + rank)  # per-rank running_mean
    with torch.no_grad():
        ddp_layer.eval()(torch.zeros(2, 3, device=device))  # broadcast before it, if any
    means = gathered(layer.running_mean)
    return buffers_from_rank0, weights_from_rank0, torch.equal(means[0], means[1])


wrapping = {
    "default": after_wrapping(),
    "init_sync=False": after_wrapping(init_sync=False),
    "broadcast_buffers=False": after_wrapping(broadcast_buffers=False),
}
# forward_sync_buffers is new in torch 2.13; older versions have only broadcast_buffers.
has_forward_sync_buffers = "forward_sync_buffers" in inspect.signature(DDP).parameters
if has_forward_sync_buffers:
    wrapping["forward_sync_buffers=False"] = after_wrapping(forward_sync_buffers=False)
if rank == 0:
    print("after wrapping, rank 0's buffers and weights everywhere? then, a forward broadcast?")
    for option, (buffers, weights, forward) in wrapping.items():
        print(f"  {option:27} buffers {buffers!s:5}  weights {weights!s:5}  forward {forward}")
    if not has_forward_sync_buffers:
        print(f"torch {torch.__version__} has no forward_sync_buffers (new in 2.13): skipped")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device)
ddp_model = DDP(model)
bn = model[1]
# Rank r's data has mean close to r: the ranks' statistics will visibly differ.
x = (torch.randn(64, 4) + rank).to(device)

alone = copy.deepcopy(model)  # a plain copy that sees only this rank's batch
alone(x)
ddp_model(x)  # training mode: this rank's batch updates this rank's running_mean
after_train = gathered(bn.running_mean.clone())
print(f"after a training pass: running_mean[0] = {bn.running_mean[0].item():+.4f}")

ddp_model.eval()
with torch.no_grad():
    ddp_model(x)  # the wrapper broadcasts rank 0's buffers, then evaluates with them
after_eval = gathered(bn.running_mean.clone())
print(f"after an eval pass:    running_mean[0] = {bn.running_mean[0].item():+.4f}")

# A pass under no_grad turns the broadcast off for the next pass: a change on one rank stays.
with torch.no_grad():
    bn.running_mean += rank  # rank 1 moves its copy away from rank 0's
    ddp_model(x)
after_second_eval = gathered(bn.running_mean.clone())
print(f"after a 2nd eval pass: running_mean[0] = {bn.running_mean[0].item():+.4f}")

# Eval mode is not what turns it off: an eval pass with gradients enabled turns it back on.
ddp_model(x).sum().backward()  # no broadcast before it (the last pass was under no_grad)...
after_grad_eval = gathered(bn.running_mean.clone())
print(f"after eval with grad:  running_mean[0] = {bn.running_mean[0].item():+.4f}")
with torch.no_grad():
    collectives_before_join = collectives_in(lambda: ddp_model(x))  # ...but one before this pass
after_fourth_eval = gathered(bn.running_mean.clone())
print(f"after the pass next:   running_mean[0] = {bn.running_mean[0].item():+.4f}")

# A pass inside no_sync() turns the next broadcast off as well, gradients or not.
with ddp_model.no_sync():
    ddp_model(x).sum().backward()
with torch.no_grad():
    bn.running_mean += rank
ddp_model(x).sum().backward()  # gradients enabled, outside no_sync: no broadcast before it
after_no_sync = gathered(bn.running_mean.clone())
print(f"after no_sync, then:   running_mean[0] = {bn.running_mean[0].item():+.4f}")

# Once a join() context has been created, the broadcasts come from the highest rank instead.
with ddp_model.join():
    pass  # every rank joins at once; the end-of-context broadcast comes from rank 1
ddp_model.train()
ddp_model(x).sum().backward()  # each rank's own statistics again
own_after_join = gathered(bn.running_mean.clone())
ddp_model.eval()
with torch.no_grad():
    collectives_after_join = collectives_in(lambda: ddp_model(x))  # the broadcast before this pass
after_join = gathered(bn.running_mean.clone())
print(f"after join(), then:    running_mean[0] = {bn.running_mean[0].item():+.4f}")

# With uneven inputs, the source is the highest rank that has not yet joined. Each rank writes a
# tag into running_mean before each pass, and a hook reads what the pass received.
received: list[float] = []


def read_running_mean(layer: nn.Module, args: tuple) -> None:
    received.append(layer.running_mean[0].item())


# Rank 1, once joined, takes part in rank 0's broadcasts: a wrapper around DDP's private
# broadcast method reads what each broadcast left on rank 1.
broadcast_buffers = ddp_model._sync_module_buffers


def broadcast_and_read(authoritative_rank: int) -> None:
    broadcast_buffers(authoritative_rank)
    received.append(bn.running_mean[0].item())


ddp_model.train()
ddp_model(x).sum().backward()  # a training pass: the first pass below begins with a broadcast
if rank == 0:
    reader = bn.register_forward_pre_hook(read_running_mean)
else:
    ddp_model._sync_module_buffers = broadcast_and_read
with ddp_model.join():
    for step in range(1 if rank == 1 else 3):  # rank 1 joins after one pass, rank 0 after three
        with torch.no_grad():
            bn.running_mean.fill_(10 * rank + step)
        ddp_model(x).sum().backward()
if rank == 0:
    reader.remove()
    print(f"inside an uneven join(), rank 0's passes received running_mean[0] = {received}")
else:
    del ddp_model._sync_module_buffers
    print(f"rank 1, after its pass's broadcast and the two it shadowed: {received}")
# Rank 0 joined last, and its model was broadcast at the end; the source is still rank 1.
ddp_model(x).sum().backward()  # a training pass: each rank's own statistics
own_after_uneven = gathered(bn.running_mean.clone())
ddp_model.eval()
with torch.no_grad():
    ddp_model(x)  # the broadcast before this pass
after_uneven = gathered(bn.running_mean.clone())
# The mirror: rank 0 joins first, rank 1 last. The source is rank 1 again, the highest rank.
ddp_model.train()
with ddp_model.join():
    for step in range(1 if rank == 0 else 3):
        ddp_model(x).sum().backward()
ddp_model(x).sum().backward()
own_after_mirror = gathered(bn.running_mean.clone())
ddp_model.eval()
with torch.no_grad():
    ddp_model(x)
after_mirror = gathered(bn.running_mean.clone())

# Creating a join(enable=False) context, even an empty one, makes rank 0 the source again.
with ddp_model.join(enable=False):
    pass
ddp_model.train()
ddp_model(x).sum().backward()
own_after_disabled = gathered(bn.running_mean.clone())
ddp_model.eval()
with torch.no_grad():
    collectives_after_disabled = collectives_in(lambda: ddp_model(x))
after_disabled = gathered(bn.running_mean.clone())
print(f"after a disabled join: running_mean[0] = {bn.running_mean[0].item():+.4f}")
if rank == 0:
    counts = (collectives_before_join, collectives_after_join, collectives_after_disabled)
    print("collectives in an eval pass: before join(), after, after join(enable=False):", counts)

own_batch_only = torch.allclose(after_train[rank], alone[1].running_mean)
differ_after_train = not torch.equal(after_train[0], after_train[1])
rank0_everywhere = all(torch.equal(copy, after_train[0]) for copy in after_eval)
second_pass_kept_own = torch.equal(after_second_eval[1], after_eval[1] + 1)
grad_eval_kept_own = torch.equal(after_grad_eval[1], after_second_eval[1])
rearmed = all(torch.equal(copy, after_grad_eval[0]) for copy in after_fourth_eval)
no_sync_kept_own = torch.equal(after_no_sync[1], after_fourth_eval[1] + 1)
highest_rank_everywhere = not torch.equal(own_after_join[0], own_after_join[-1]) and all(
    torch.equal(copy, own_after_join[-1]) for copy in after_join
)
highest_not_last_joiner = all(
    not torch.equal(own[0], own[-1]) and all(torch.equal(copy, own[-1]) for copy in after)
    for own, after in ((own_after_uneven, after_uneven), (own_after_mirror, after_mirror))
)
rank0_again = not torch.equal(own_after_disabled[0], own_after_disabled[-1]) and all(
    torch.equal(copy, own_after_disabled[0]) for copy in after_disabled
)
# What each option does: (buffers from rank 0, weights from rank 0, forward-pass broadcast).
documented = {
    "default": (True, True, True),
    "init_sync=False": (False, False, True),
    "broadcast_buffers=False": (False, True, False),
    "forward_sync_buffers=False": (True, True, False),
}
at_construction = {key: result[:2] for key, result in wrapping.items()}
construction_as_documented = all(
    at_construction[key] == documented[key][:2] for key in wrapping if "forward" not in key
)
forward_broadcast_as_documented = all(
    result[2] == documented[key][2] for key, result in wrapping.items()
)
new_flag = at_construction.get("forward_sync_buffers=False")  # absent before 2.13
forward_sync_keeps_construction = new_flag == (True, True)
buffer_names = [name for name, _ in model.named_buffers()]
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert differ_after_train and own_batch_only  # witness: own-statistics-per-rank
assert rank0_everywhere  # witness: forward-broadcasts-rank0
assert (
    second_pass_kept_own and grad_eval_kept_own and rearmed and no_sync_kept_own
)  # witness: no-grad-pass-skips-next-broadcast
assert construction_as_documented  # witness: construction-broadcasts-buffers
assert forward_broadcast_as_documented  # witness: flags-stop-forward-broadcast
assert highest_rank_everywhere and highest_not_last_joiner  # witness: join-moves-broadcast-source
assert rank0_again  # witness: disabled-join-restores-rank0
join_costs = collectives_after_join > collectives_before_join == collectives_after_disabled
assert join_costs  # witness: join-adds-collectives
if has_forward_sync_buffers:  # torch 2.13 and later
    assert forward_sync_keeps_construction  # witness: forward-sync-buffers-keeps-it
    assert warned_options == ["broadcast_buffers"]  # witness: broadcast-buffers-warns
    advice = "keep using `broadcast_buffers=False`"
    warning_advises = any(advice in text for text in warning_texts)
    assert warning_advises  # witness: warning-keeps-broadcast-buffers-false
received_from = [10.0, 1.0, 2.0]  # rank 1's tag, then rank 0's, on both ranks
assert received == received_from  # witness: join-source-not-yet-joined
assert buffer_names == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]

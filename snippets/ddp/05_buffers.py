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


def gathered(tensor: torch.Tensor) -> list[torch.Tensor]:
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor)
    return copies


def running_var_agrees_after_wrapping(**options) -> bool:
    """Give each rank its own running variance, wrap the layer, and compare the ranks' copies."""
    layer = nn.BatchNorm1d(3).to(device)
    layer.running_var.fill_(1 + rank)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # broadcast_buffers: deprecated in 2.13
        ddp_layer = DDP(layer, **options)
    copies = gathered(ddp_layer.module.running_var)
    return torch.equal(copies[0], copies[1])


construction_sync = {
    "default": running_var_agrees_after_wrapping(),
    "init_sync=False": running_var_agrees_after_wrapping(init_sync=False),
    "broadcast_buffers=False": running_var_agrees_after_wrapping(broadcast_buffers=False),
}
# forward_sync_buffers is new in torch 2.13; older versions have only broadcast_buffers.
has_forward_sync_buffers = "forward_sync_buffers" in inspect.signature(DDP).parameters
if has_forward_sync_buffers:
    construction_sync["forward_sync_buffers=False"] = running_var_agrees_after_wrapping(
        forward_sync_buffers=False
    )
if rank == 0:
    print("buffers agree right after wrapping:", construction_sync)
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
    ddp_model(x)  # ...but one before this pass
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
    ddp_model(x)  # the broadcast before this pass
after_join = gathered(bn.running_mean.clone())
print(f"after join(), then:    running_mean[0] = {bn.running_mean[0].item():+.4f}")

# Creating a join(enable=False) context, even an empty one, makes rank 0 the source again.
with ddp_model.join(enable=False):
    pass
ddp_model.train()
ddp_model(x).sum().backward()
own_after_disabled = gathered(bn.running_mean.clone())
ddp_model.eval()
with torch.no_grad():
    ddp_model(x)
after_disabled = gathered(bn.running_mean.clone())
print(f"after a disabled join: running_mean[0] = {bn.running_mean[0].item():+.4f}")

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
rank0_again = not torch.equal(own_after_disabled[0], own_after_disabled[-1]) and all(
    torch.equal(copy, own_after_disabled[0]) for copy in after_disabled
)
buffer_names = [name for name, _ in model.named_buffers()]
dist.barrier()  # both ranks are done before either tears the group down
dist.destroy_process_group()

assert differ_after_train and own_batch_only  # witness: own-statistics-per-rank
assert rank0_everywhere  # witness: forward-broadcasts-rank0
assert (
    second_pass_kept_own and grad_eval_kept_own and rearmed and no_sync_kept_own
)  # witness: no-grad-pass-skips-next-broadcast
assert {key: agrees for key, agrees in construction_sync.items() if "forward" not in key} == {
    "default": True,
    "init_sync=False": False,
    "broadcast_buffers=False": False,
}  # witness: construction-broadcasts-buffers
assert highest_rank_everywhere  # witness: join-moves-broadcast-source
assert rank0_again  # witness: disabled-join-restores-rank0
assert (
    not has_forward_sync_buffers or construction_sync["forward_sync_buffers=False"]
)  # witness: forward-sync-buffers-keeps-it
assert buffer_names == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]

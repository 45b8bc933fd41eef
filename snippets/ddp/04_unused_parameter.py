"""A parameter that gets no gradient: DDP's error, when it comes, and find_unused_parameters=True.

Run: torchrun --nproc-per-node 2 snippets/ddp/04_unused_parameter.py
"""

# guide: ranks=2

import copy
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.nn.parallel import DistributedDataParallel as DDP

local_rank = int(os.environ["LOCAL_RANK"])
use_cuda = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])
dist.init_process_group("nccl" if use_cuda else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
if use_cuda:
    torch.cuda.set_device(device)


class TwoHeads(nn.Module):
    """An auxiliary head that the forward pass uses only when asked to."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(10, 8)
        self.head = nn.Linear(8, 3)
        self.aux_head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor, use_aux: bool = False) -> torch.Tensor:
        return (self.aux_head if use_aux else self.head)(torch.relu(self.body(x)))


def gathered_copies(tensor: torch.Tensor) -> list[torch.Tensor]:
    copies = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(copies, tensor)
    return copies


def same_on_all_ranks(tensor: torch.Tensor) -> bool:
    copies = gathered_copies(tensor)
    return all(torch.equal(copies[0], copy) for copy in copies)


torch.manual_seed(0)
model = TwoHeads().to(device)
model.body.bias.requires_grad_(False)  # frozen: DDP neither reduces it nor counts it
torch.manual_seed(rank)  # each rank its own data
x = torch.randn(4, 10).to(device)

ddp_model = DDP(model)
own = TwoHeads().to(device)  # what this rank's data alone gives, without DDP
own.load_state_dict(model.state_dict())
own(x).sum().backward()
ddp_model(x).sum().backward()  # step 1: no error...
first_backward_averaged = same_on_all_ranks(model.body.weight.grad)
grads_are_own = all(  # every .grad there is (not aux_head's, not frozen body.bias'), all dense
    p.grad is None or (p.grad.layout == torch.strided and torch.equal(p.grad, q.grad))
    for p, q in zip(model.parameters(), own.parameters())
)
print("step 1 finished; body.weight.grad averaged across ranks:", first_backward_averaged)
try:
    with torch.no_grad():
        ddp_model(x)  # a forward pass without gradients does not check the last reduction
    no_grad_forward_passed = True
except RuntimeError:
    no_grad_forward_passed = False
loss = None
try:
    loss = ddp_model(x).sum()  # step 2: the forward pass raises
    error_message = ""
except RuntimeError as error:
    error_message = str(error)
first_sentence = error_message.split(". ")[0]
indices_line = next(line for line in error_message.splitlines() if line.startswith("Parameter ind"))
reduced_names = [name for name, param in model.named_parameters() if param.requires_grad]
unused_names = [reduced_names[int(index)] for index in indices_line.split(": ")[1].split()]
if rank == 0:
    print("step 2:", first_sentence)
    print(indices_line, "=", unused_names)


# Buckets that were reduced still leave .grad alone until the whole reduction has finished. With
# bucket_cap_mb_list, DDP fills these models' first buckets in the order of parameters(), closing
# one once it reaches or passes its cap (the parameter that crosses it included), then reverses the
# order of the buckets: listed first, aux_head is in the last bucket (with body.weight), so the ones
# before it can go. A cap per bucket splits even these few parameters; a communication
# hook (doing DDP's own all-reduce) records each bucket it reduces, and a copy without the hook
# shows the default .grad handling, its launches counted by the group.
class AuxHeadFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.aux_head = nn.Linear(8, 2)
        self.body = nn.Linear(10, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


reduced_buckets: list[list[torch.Tensor]] = []


def recording_hook(state, bucket):
    reduced_buckets.append(bucket.parameters())
    return allreduce_hook(state, bucket)


torch.manual_seed(0)
aux_first = AuxHeadFirst().to(device)
used_first = [*aux_first.body.parameters(), *aux_first.head.parameters()]
own_grads = torch.autograd.grad(aux_first(x).sum(), used_first)  # this rank's own, without DDP
no_hook = copy.deepcopy(aux_first)
ddp_no_hook = DDP(no_hook, bucket_cap_mb_list=[0.0001])  # buckets of about 100 bytes
# A private count of every collective on the group so far: nothing else may run in between.
collectives_before = dist.group.WORLD._get_sequence_number_for_group()
ddp_no_hook(x).sum().backward()
no_hook_launched = dist.group.WORLD._get_sequence_number_for_group() - collectives_before
ddp_aux_first = DDP(aux_first, bucket_cap_mb_list=[0.0001])
ddp_aux_first.register_comm_hook(dist.group.WORLD, recording_hook)
ddp_aux_first(x).sum().backward()
head_bucket_reduced = any(p is aux_first.head.weight for bucket in reduced_buckets for p in bucket)
name_of = {param: name for name, param in aux_first.named_parameters()}
buckets_first = ddp_aux_first.reducer._get_zeros_like_grad_buckets()  # private, in bucket order
bucket_names = [[name_of[p] for p in bucket.parameters()] for bucket in buckets_first]
launched_names = [[name_of[p] for p in bucket] for bucket in reduced_buckets]
reduced_head_averaged = same_on_all_ranks(aux_first.head.weight.grad)
no_hook_used = [*no_hook.body.parameters(), *no_hook.head.parameters()]
no_hook_left_own = all(map(torch.equal, [p.grad for p in no_hook_used], own_grads))
no_hook_reduced_as_many = no_hook_launched == len(reduced_buckets) > 0
cap = int(0.0001 * 1024 * 1024)  # bytes
filled = [[p.numel() * p.element_size() for p in b.parameters()] for b in reversed(buckets_first)]
closed_at_cap = all(sum(sizes[:-1]) < cap <= sum(sizes) for sizes in filled[:-1])
fill_order = [name for names in reversed(bucket_names) for name in names]
if rank == 0:
    print("aux_head registered first, no hook:", no_hook_launched, "buckets launched")
    print(f"aux_head registered first, buckets (cap {cap} bytes), first to last:")
    for names, sizes in zip(bucket_names, reversed(filled)):
        print(f"  {sum(sizes):3} bytes: {names}")

# Buckets are launched in order: with aux_head registered last, it is in the first bucket, and
# while it waits, so do the later buckets, although all their gradients have arrived.
reduced_buckets.clear()
torch.manual_seed(0)
aux_last = TwoHeads().to(device)
ddp_aux_last = DDP(aux_last, bucket_cap_mb_list=[0.0001])
ddp_aux_last.register_comm_hook(dist.group.WORLD, recording_hook)
ddp_aux_last(x).sum().backward()
bucket_sizes = ddp_aux_last._get_ddp_logging_data()["bucket_sizes"]  # bytes, in bucket order
bucket_count = len(bucket_sizes.split(","))
first_bucket = ddp_aux_last.reducer._get_zeros_like_grad_buckets()[0].parameters()
aux_in_first = all(any(p is q for q in first_bucket) for p in aux_last.aux_head.parameters())
used = [*aux_last.body.parameters(), *aux_last.head.parameters()]
later_buckets_complete = all(param.grad is not None for param in used)
nothing_launched = reduced_buckets == []
# With gradient_as_bucket_view=True, .grad is the bucket: DDP divided it by world_size as it
# arrived. body.bias and head.weight share the middle bucket, so their .grad share memory.
as_view = TwoHeads().to(device)
as_view.load_state_dict(aux_last.state_dict())
ddp_as_view = DDP(as_view, bucket_cap_mb_list=[0.0001], gradient_as_bucket_view=True)
ddp_as_view(x).sum().backward()  # nothing launched here either
view = as_view.head.weight.grad
view_is_divided = torch.equal(view, aux_last.head.weight.grad * (1 / world_size))
bucket_memory = as_view.body.bias.grad.untyped_storage().data_ptr()
view_in_bucket = view.untyped_storage().data_ptr() == bucket_memory
if rank == 0:
    print(f"aux_head registered last: {len(reduced_buckets)} of {bucket_count} buckets launched")
# Where every parameter is used, the reduction finishes and writes the average into the bucket.
full_view = nn.Linear(10, 3).to(device)  # one bucket: weight and bias
own_full = torch.autograd.grad(full_view(x).sum(), full_view.weight)[0]
ddp_full_view = DDP(full_view, gradient_as_bucket_view=True)  # kept alive for its backward
ddp_full_view(x).sum().backward()
full_grad = full_view.weight.grad
bias_memory = full_view.bias.grad.untyped_storage().data_ptr()
one_block = full_grad.untyped_storage().data_ptr() == bias_memory  # weight and bias: one bucket
averaged_in_view = torch.allclose(full_grad, sum(gathered_copies(own_full)) / world_size)
# A communication hook is handed the bucket it reduces: with the view, that memory is .grad's.
reduced_memory = []


def recording_allreduce(group: dist.ProcessGroup, bucket: dist.GradBucket):
    reduced_memory.append(bucket.buffer().untyped_storage().data_ptr())
    return allreduce_hook(group, bucket)  # the average, as DDP computes it without a hook


hooked_view = nn.Linear(10, 3).to(device)
hooked_view.load_state_dict(full_view.state_dict())
ddp_hooked_view = DDP(hooked_view, gradient_as_bucket_view=True)
ddp_hooked_view.register_comm_hook(dist.group.WORLD, recording_allreduce)
ddp_hooked_view(x).sum().backward()
hooked_grad = hooked_view.weight.grad
written_in_place = reduced_memory == [hooked_grad.untyped_storage().data_ptr()]
written_in_place &= torch.allclose(hooked_grad, sum(gathered_copies(own_full)) / world_size)

# With the debug level at INFO, the message names the parameters. So does DETAIL, set after
# init_process_group (in effect before it, DDP's constructor crashed: see the page).
names_lines = {}
for level in (dist.DebugLevel.INFO, dist.DebugLevel.DETAIL):
    dist.set_debug_level(level)
    torch.manual_seed(0)
    ddp_info = DDP(TwoHeads().to(device))
    ddp_info(x).sum().backward()
    try:
        ddp_info(x)
        info_message = ""
    except RuntimeError as error:
        info_message = str(error)
    lines = info_message.splitlines()
    names_lines[level.name] = next(line for line in lines if line.startswith("Parameters "))
dist.set_debug_level(dist.DebugLevel.OFF)
names_line = names_lines["INFO"]
if rank == 0:
    print("at INFO:", names_line)

# The same model, told to look for parameters that the forward pass did not use.
torch.manual_seed(0)
model = TwoHeads().to(device)
ddp_model = DDP(model, find_unused_parameters=True)
for step in range(2):
    model.zero_grad()
    ddp_model(x).sum().backward()
aux_grad = model.aux_head.weight.grad
aux_grad_is_none = aux_grad is None
body_averaged = same_on_all_ranks(model.body.weight.grad)


def nbytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


# What the walk from the outputs found unused in the last step, in bytes (a private log entry).
walk_found = ddp_model._get_ddp_logging_data()["unused_parameter_size"]
walk_found_aux = walk_found == nbytes(model.aux_head)
if rank == 0:
    print("find_unused_parameters=True, two steps: aux_head.weight.grad =", aux_grad)


# Both heads run and both outputs are returned, but the loss uses only head's; `spare` never runs.
class HeadsAndSpare(TwoHeads):
    def __init__(self) -> None:
        super().__init__()
        self.spare = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.relu(self.body(x))
        return self.head(hidden), self.aux_head(hidden)


torch.manual_seed(0)
spare_model = HeadsAndSpare().to(device)
ddp_spare = DDP(spare_model, find_unused_parameters=True)
for step in range(2):
    spare_model.zero_grad()
    out, aux_out = ddp_spare(x)
    out.sum().backward()  # aux_out is left out of the loss
walk_found_spare_only = ddp_spare._get_ddp_logging_data()["unused_parameter_size"]
sink_name = type(aux_out.grad_fn).__name__  # the autograd function DDP put on the outputs
aux_out_grad_none = spare_model.aux_head.weight.grad is None
if rank == 0:
    print(f"walk found {walk_found_spare_only} bytes unused: spare's {nbytes(spare_model.spare)},")
    print(f"  not aux_head's {nbytes(spare_model.aux_head)}; aux_out.grad_fn: {sink_name}")
    print("  after two steps, aux_head.weight.grad =", spare_model.aux_head.weight.grad)

# A branch chosen per rank: rank 0 uses aux_head, rank 1 uses head.
torch.manual_seed(0)
split = TwoHeads().to(device)
split_own = TwoHeads().to(device)  # this rank's own gradients, without DDP
split_own.load_state_dict(split.state_dict())
use_aux = rank == 0
split_own(x, use_aux).sum().backward()
ddp_split = DDP(split, find_unused_parameters=True)  # DDP's backward needs it alive
ddp_split(x, use_aux).sum().backward()
head_own = split_own.head.weight.grad  # None on rank 0, which did not use head
head_own_or_zero = torch.zeros(3, 8, device=device) if head_own is None else head_own
head_mean = sum(gathered_copies(head_own_or_zero)) / world_size
split_grads = [split.head.weight.grad, split.aux_head.weight.grad]
same_grads_everywhere = None not in split_grads and all(map(same_on_all_ranks, split_grads))
head_before = split.head.weight.detach().clone()
torch.optim.SGD(split.parameters(), lr=0.1).step()
head_stepped = not torch.equal(split.head.weight, head_before)
if rank == 0:
    print("per-rank branch: rank 0's head.weight.grad is None:", split.head.weight.grad is None)


# Default settings, aux_head used on rank 1 only. A hook that records each launch of a bucket's
# reduction and communicates nothing (with DDP's all-reduce, the ranks would be out of step).
class AuxAdded(TwoHeads):
    def forward(self, x: torch.Tensor, use_aux: bool = False) -> torch.Tensor:
        hidden = torch.relu(self.body(x))
        return self.head(hidden).sum() + (self.aux_head(hidden).sum() if use_aux else 0)


launches: list[int] = []


def silent_hook(state, bucket):
    launches.append(bucket.index())
    done = torch.futures.Future()
    done.set_result(bucket.buffer())  # the bucket as it is: no reduction
    return done


torch.manual_seed(0)
aux_added = AuxAdded().to(device)
ddp_aux_added = DDP(aux_added)  # default settings: here, one bucket for the first iteration
default_buckets = len(ddp_aux_added.reducer._get_zeros_like_grad_buckets())
# The same cap as above, given as bucket_cap_mb: a single bucket in the first iteration, unless
# find_unused_parameters=True, which fills buckets up to the cap as bucket_cap_mb_list does.
one_cap = DDP(AuxHeadFirst().to(device), bucket_cap_mb=0.0001)
one_cap_buckets = len(one_cap.reducer._get_zeros_like_grad_buckets())
cap_unused = DDP(AuxHeadFirst().to(device), bucket_cap_mb=0.0001, find_unused_parameters=True)
cap_unused_name = {param: name for name, param in cap_unused.module.named_parameters()}
cap_unused_names = [
    [cap_unused_name[p] for p in bucket.parameters()]
    for bucket in cap_unused.reducer._get_zeros_like_grad_buckets()
]
cap_unused_buckets = len(cap_unused_names)
ddp_aux_added.register_comm_hook(None, silent_hook)
ddp_aux_added(x, use_aux=rank == 1).backward()
launch_counts = [int(n) for n in gathered_copies(torch.tensor(len(launches), device=device))]
if rank == 0:
    print(f"AuxHeadFirst, bucket_cap_mb=0.0001: {one_cap_buckets} bucket at first,", end=" ")
    print(f"{cap_unused_buckets} with find_unused_parameters=True")
    print(f"aux_head used on rank 1 only, default settings ({default_buckets} bucket):")
    print("  reductions launched", launch_counts)
before_barrier = dist.group.WORLD._get_sequence_number_for_group()
dist.barrier()  # both ranks are done before either tears the group down
barrier_counted = dist.group.WORLD._get_sequence_number_for_group() - before_barrier
dist.destroy_process_group()

assert not first_backward_averaged and grads_are_own  # witness: first-step-not-averaged
assert (
    head_bucket_reduced
    and not reduced_head_averaged
    and no_hook_reduced_as_many  # the copy without the hook launched as many reductions
    and no_hook_left_own
)  # witness: reduced-bucket-not-written
assert view_in_bucket and view_is_divided  # witness: bucket-view-divided
assert one_block and averaged_in_view and written_in_place  # witness: reduction-writes-into-view
assert barrier_counted == 1  # witness: sequence-counts-every-collective
aux_in_last = bucket_names[-1] == ["aux_head.weight", "aux_head.bias", "body.weight"]
assert aux_in_last and launched_names == bucket_names[:-1]  # witness: aux-first-in-last-bucket
in_parameters_order = fill_order == [name for name, _ in aux_first.named_parameters()]
assert closed_at_cap and in_parameters_order  # witness: buckets-fill-to-cap
assert (
    bucket_count == 3 and aux_in_first and later_buckets_complete and nothing_launched
)  # witness: buckets-launch-in-order
assert (
    no_grad_forward_passed
    and loss is None  # the forward pass itself raised, before any backward
    and first_sentence.startswith("Expected to have finished reduction")
)  # witness: second-forward-raises
assert "find_unused_parameters=True" in error_message  # witness: message-names-the-flag
aux_names = ["aux_head.weight", "aux_head.bias"]
positions = [name for name, _ in model.named_parameters()]  # all six, body.bias included
assert (
    indices_line.endswith("3 4")
    and unused_names == aux_names
    and positions.index("aux_head.weight") == 4  # its position in parameters() is not its index
)  # witness: indices-order
assert error_message.rstrip().endswith("as part of this error")  # witness: message-ends-with-hint
assert names_line.endswith("aux_head.bias, aux_head.weight")  # witness: info-names-parameters
assert names_lines["DETAIL"] == names_line  # witness: detail-after-init-names-parameters
assert aux_grad_is_none and body_averaged  # witness: unused-stays-none
assert walk_found_aux  # witness: walk-finds-unreached
walk_missed_aux = walk_found_spare_only == nbytes(spare_model.spare)
through_sink = sink_name == "_DDPSinkBackward"
assert walk_missed_aux and through_sink and aux_out_grad_none  # witness: output-not-in-loss
assert (
    (rank == 0) == (head_own is None)  # rank 0 itself left head out
    and split.head.weight.grad is not None
    and split.aux_head.weight.grad is not None
    and same_grads_everywhere
    and torch.allclose(split.head.weight.grad, head_mean)
    and head_stepped
)  # witness: partly-unused-gets-average
assert launch_counts == [0, 1]  # witness: partly-unused-launched-by-one-rank
assert default_buckets == 1  # witness: default-first-iteration-one-bucket
one_unless_unused = one_cap_buckets == 1 and cap_unused_names == bucket_names
assert one_unless_unused  # witness: one-cap-one-first-bucket

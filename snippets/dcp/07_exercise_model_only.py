"""Exercise: from a training checkpoint (model + optimizer), load only the weights, in one process.

Run: torchrun --nproc-per-node 2 snippets/dcp/07_exercise_model_only.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
import traceback
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint import DefaultLoadPlanner
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.state_dict import get_state_dict
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
rank = dist.get_rank()


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
model = build_model().to(device)
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
model(torch.randn(16, 10).to(device)).sum().backward()
optimizer.step()

model_state, optimizer_state = get_state_dict(model, optimizer)
shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])
dcp.save({"model": model_state, "optim": optimizer_state}, checkpoint_id=folder)
saved = {name: tensor.full_tensor().cpu() for name, tensor in model.state_dict().items()}
dist.barrier()
dist.destroy_process_group()

if rank == 0:
    warnings.filterwarnings("ignore", message="torch.distributed is disabled")  # one process
    saved_keys = dcp.FileSystemReader(folder).read_metadata().state_dict_metadata
    entry_count = len(saved_keys)
    optimizer_keys = sum(key.startswith("optim.") for key in saved_keys)
    print(f"the checkpoint holds {entry_count} entries, {optimizer_keys} of the optimizer")

    plain = build_model()
    names = list(plain.state_dict())  # 0.weight first; sorted, 0.bias first
    try:  # the keys as the model names them: not how they were saved
        dcp.load(plain.state_dict(), checkpoint_id=folder)
        error_message = "no error"
    except CheckpointException as error:  # a BaseException: `except Exception` misses it
        not_an_exception = not isinstance(error, Exception)
        cause, stack = error.failures[0]  # rank 0's exception and traceback (the only rank)
        failed_ranks = list(error.failures)
        has_stack = isinstance(stack, traceback.StackSummary)
        error_message = f"{type(cause).__name__}: {cause}"
    print("flat keys:", error_message)

    # A planner that allows a partial load takes the same request without a word, and loads nothing.
    before = {name: tensor.clone() for name, tensor in plain.state_dict().items()}
    partial = DefaultLoadPlanner(allow_partial_load=True)
    dcp.load(plain.state_dict(), checkpoint_id=folder, planner=partial)
    left_alone = all(torch.equal(plain.state_dict()[name], before[name]) for name in before)
    print("flat keys, allow_partial_load=True: no error, every weight left as it was:", left_alone)

    request = {"model": plain.state_dict()}  # the structure that was saved, model part only
    dcp.load(request, checkpoint_id=folder)
    plain.load_state_dict(request["model"])
    loaded_equal = all(torch.equal(plain.state_dict()[name], saved[name]) for name in saved)
    print("nested under 'model': loaded, equal to the saved weights:", loaded_equal)
    try:  # keys under one top-level key: the first missing one in the order given, not sorted
        dcp.load({"z": {"b": torch.zeros(1), "a": torch.zeros(1)}}, checkpoint_id=folder)
        nested_message = "no error"
    except CheckpointException as error:
        nested_message = str(error.failures[0][0])
    print("nested keys z.b, z.a:", nested_message)
    shutil.rmtree(folder)

    assert "Missing key in checkpoint state_dict" in error_message  # witness: flat-keys-missing
    sorted_first = error_message.endswith(f": {min(names)}.") and names[0] != min(names)
    first_sorted = sorted_first and nested_message.endswith(": z.b.")  # not sorted below the top
    assert first_sorted  # witness: first-missing-sorted
    assert not_an_exception  # witness: base-exception
    assert failed_ranks == [0] and has_stack  # witness: failures-by-rank
    assert optimizer_keys > 0 and loaded_equal  # witness: model-part-loads
    differed = not torch.equal(before["0.weight"], saved["0.weight"])
    assert left_alone and differed  # witness: partial-skips

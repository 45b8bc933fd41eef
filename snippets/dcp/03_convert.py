"""Turn a 2-rank DCP checkpoint into one torch.save file for inference, and back into DCP.

Run: torchrun --nproc-per-node 2 snippets/dcp/03_convert.py
"""

# guide: ranks=2

import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save, torch_save_to_dcp
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
model(torch.randn(16, 10).to(device)).square().mean().backward()
optimizer.step()  # now the optimizer has state worth saving: moments and a step count

# A training checkpoint: the model's and the optimizer's sharded state, in one folder.
model_state, optimizer_state = get_state_dict(model, optimizer)
shared = [tempfile.mkdtemp() if rank == 0 else None]
dist.broadcast_object_list(shared, src=0)
folder = Path(shared[0])
dcp.save({"model": model_state, "optim": optimizer_state}, checkpoint_id=folder / "step-1")

saved = {name: tensor.full_tensor().cpu() for name, tensor in model.state_dict().items()}
x = torch.randn(4, 10)
with torch.no_grad():
    saved_output = model(x.to(device)).cpu()
dist.barrier()
dist.destroy_process_group()

if rank == 0:  # one process, no process group: the conversion needs none
    single_file = folder / "step-1.pt"
    dcp_to_torch_save(folder / "step-1", single_file)

    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(single_file)
    checkpoint = torch.load(single_file, map_location="cpu", weights_only=True)
    top_keys = ", ".join(checkpoint)
    print("the converted file holds:", top_keys)
    print("globals the default loader would refuse:", unsafe)
    model_keys = ", ".join(checkpoint["model"])
    print("its 'model' entry:", model_keys)
    optim_tensors = sum(
        isinstance(value, torch.Tensor)
        for per_parameter in checkpoint["optim"]["state"].values()
        for value in per_parameter.values()
    )
    print(f"its 'optim' entry: {', '.join(checkpoint['optim'])}, {optim_tensors} tensors of Adam")
    types = sorted({type(tensor).__name__ for tensor in checkpoint["model"].values()})
    print("types of the model's values:", types)

    # Inference: an ordinary model on the CPU, and a strict load of the 'model' entry.
    inference_model = build_model().eval()
    result = inference_model.load_state_dict(checkpoint["model"])
    with torch.no_grad():
        outputs_agree = torch.allclose(inference_model(x), saved_output, atol=1e-6)
    print("strict load:", result, "| outputs match the sharded model's:", outputs_agree)

    # The reverse: a torch.save file becomes a DCP folder, written by this one process.
    back = folder / "from-torch-save"
    torch_save_to_dcp(single_file, back)
    back_files = ", ".join(sorted(path.name for path in back.iterdir()))
    print("torch_save_to_dcp wrote:", back_files)
    shutil.rmtree(folder)

    assert unsafe == []  # witness: converted-needs-no-allowlist
    assert top_keys == "model, optim"  # witness: keeps-structure
    assert types == ["Tensor"]  # witness: plain-tensors
    assert optim_tensors == 12
    full_weights = all(torch.equal(checkpoint["model"][n], saved[n]) for n in saved)
    assert full_weights  # witness: full-weights
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert outputs_agree  # witness: inference-outputs-agree
    assert back_files == ".metadata, __0_0.distcp"  # witness: one-process-one-file

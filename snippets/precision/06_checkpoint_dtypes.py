"""A float32 checkpoint in a bfloat16 model: copy_ keeps bfloat16, assign=True takes float32."""

import io

import torch
from torch import nn


def make_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))


def saved_size(state: dict[str, torch.Tensor]) -> int:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


torch.manual_seed(0)
checkpoint = make_model().state_dict()  # float32, as trained
float32_bytes = saved_size(checkpoint)  # before any load: assign=True marks the dict (below)

# The default: load_state_dict copies each value into the model's own bfloat16 tensor.
copied = make_model().bfloat16()
copied_old, copied_address = copied[0].weight, copied[0].weight.data_ptr()
copied.load_state_dict(checkpoint)
copied_dtype = copied[0].weight.dtype
same_tensor = copied[0].weight is copied_old and copied_old.data_ptr() == copied_address
rounded_on_load = torch.equal(copied[0].weight, checkpoint["0.weight"].bfloat16())
print("default load:     0.weight is", copied_dtype, "| the same Parameter:", same_tensor)

# assign=True: new Parameters around the checkpoint's tensors, sharing memory, dtype and all.
assigned = make_model().bfloat16()
old_weight = assigned[0].weight
assigned.load_state_dict(checkpoint, assign=True)
assigned_dtype = assigned[0].weight.dtype
assigned_weight = assigned[0].weight
new_parameter = isinstance(assigned_weight, nn.Parameter) and assigned_weight is not old_weight
shares_memory = assigned_weight.data_ptr() == checkpoint["0.weight"].data_ptr()
print("assign=True load: 0.weight is", assigned_dtype, "| a new Parameter:", new_parameter)
print("    sharing the checkpoint tensor's memory:", shares_memory)

# A global switch changes this: with the swap flag, load_state_dict swaps the contents into
# the model's own Parameter objects (torch.utils.swap_tensors).
swap_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    swapped = make_model().bfloat16()
    swapped_old = swapped[0].weight
    swapped.load_state_dict(checkpoint, assign=True)
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_before)
swap_keeps = swapped[0].weight is swapped_old and swapped_old.dtype == torch.float32
print("with the swap flag: the same Parameter object, now float32:", swap_keeps)

# assign=True writes itself into the state_dict's _metadata, and a later default load of the
# same dict reads the flag from there: it assigns too.
marked = checkpoint._metadata[""]["assign_to_params_buffers"]
again = make_model().bfloat16()
again.load_state_dict(checkpoint)  # the default, as in the first load above
again_dtype = again[0].weight.dtype
print("default load of the same dict after assign=True: 0.weight is", again_dtype)
saved_marked = io.BytesIO()
torch.save(checkpoint, saved_marked)  # the flag travels with the dict into the file
saved_marked.seek(0)
reloaded = torch.load(saved_marked, weights_only=True)
flag_saved = getattr(reloaded, "_metadata", {}).get("", {}).get("assign_to_params_buffers", False)
from_file = make_model().bfloat16()
from_file.load_state_dict(reloaded)  # the default again, from the saved file
from_file_dtype = from_file[0].weight.dtype
print("saved and loaded again: the flag is in the file:", flag_saved)
print("    a default load from the file: 0.weight is", from_file_dtype)

# A low-precision copy for inference: cast the floating tensors, keep the integer ones.
low = {k: v.bfloat16() if v.is_floating_point() else v for k, v in checkpoint.items()}
bfloat16_bytes = saved_size(low)
size_ratio = bfloat16_bytes / float32_bytes
print(f"saved: float32 {float32_bytes} bytes, bfloat16 {bfloat16_bytes} bytes ({size_ratio:.3f})")

# What the cast costs: round to nearest, so at most half of eps, relative.
weight, rounded = checkpoint["0.weight"], low["0.weight"].float()
relative = ((rounded - weight).abs() / weight.abs()).max().item()
half_eps = torch.finfo(torch.bfloat16).eps / 2
print(f"largest relative change of a weight: {relative:.2e} (eps / 2 = {half_eps:.2e})")

copy_kept = copied_dtype == torch.bfloat16 and rounded_on_load
assert same_tensor and copy_kept  # witness: copy-keeps-dtype
assert (
    assigned_dtype == torch.float32 and new_parameter and shares_memory
)  # witness: assign-takes-dtype
assert swap_keeps  # witness: swap-keeps-parameter
assert marked and again_dtype == torch.float32  # witness: assign-marks-checkpoint
assert flag_saved and from_file_dtype == torch.float32  # witness: marked-flag-saved
assert low["1.num_batches_tracked"].dtype == torch.int64
assert 0.49 < size_ratio < 0.52  # witness: size-halves
assert relative <= half_eps  # witness: rounding-bound

"""Tensor.to() returns the converted tensor (itself when nothing changes) and leaves the original
alone; Module.to() changes the module."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

model = nn.Linear(3, 2)
weight_before_move = model.weight
model.to(device)  # Module.to returns the module itself: no assignment needed

# By default Module.to keeps each Parameter object and replaces only its data, where the new data
# is of a compatible kind. A dtype change does that (float64 is kept on the CPU).
layer = nn.Linear(3, 2)
weight = layer.weight
float64_returns_itself = layer.to(torch.float64) is layer
same_weight_object = layer.weight is weight
print("after .to(torch.float64): same weight object:", same_weight_object, layer.weight.dtype)

# .to("meta") builds a new Parameter instead: an optimizer created before holds the old one.
meta_layer = nn.Linear(3, 2)
optimizer = torch.optim.SGD(meta_layer.parameters(), lr=0.1)
old_weight = meta_layer.weight
meta_returns_itself = meta_layer.to("meta") is meta_layer
meta_new_object = meta_layer.weight is not old_weight
optimizer_holds_old = optimizer.param_groups[0]["params"][0] is old_weight
print("after .to('meta'): new weight object:", meta_new_object)
print("  the optimizer still holds the old one:", optimizer_holds_old)

# A global opt-in flag makes every conversion build new Parameters; it is restored afterwards.
flagged = nn.Linear(3, 2)
flagged_weight = flagged.weight
overwrite_before = torch.__future__.get_overwrite_module_params_on_conversion()
torch.__future__.set_overwrite_module_params_on_conversion(True)
try:
    flag_returns_itself = flagged.to(torch.float64) is flagged
finally:
    torch.__future__.set_overwrite_module_params_on_conversion(overwrite_before)
flag_new_object = flagged.weight is not flagged_weight and flagged.weight.dtype == torch.float64
print("with the overwrite flag, .to(torch.float64) builds a new weight object:", flag_new_object)

# The swap flag does the opposite: every conversion, meta included, keeps the Parameter objects.
swapped = nn.Linear(3, 2)
swapped_weight = swapped.weight
swap_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    swapped.to("meta")
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_before)
swap_keeps_object = swapped.weight is swapped_weight and swapped.weight.device.type == "meta"
print("with the swap flag, .to('meta') keeps the weight object:", swap_keeps_object)
returns_itself = [float64_returns_itself, meta_returns_itself, flag_returns_itself]
print("Module.to returned the module itself each time:", returns_itself)

torch.manual_seed(0)
x = torch.randn(4, 3)
x.to(torch.float64)  # the mistake: the converted copy is thrown away
dtype_after_unassigned_to = str(x.dtype)
converted = x.to(torch.float64)  # what to() returns: another tensor
new_tensor = converted is not x and converted.dtype == torch.float64
print("x.dtype after x.to(torch.float64) without assignment:", dtype_after_unassigned_to)

# The same mistake with a device. The meta device (shapes and dtypes, no data) shows it anywhere:
x.to("meta")  # the mistake again
meta_devices = (meta_layer.weight.device.type, x.device.type)
print(f"after layer.to('meta'), x.to('meta'): layer on {meta_devices[0]}, x on {meta_devices[1]}")

# On a CPU-only machine the mistake goes unnoticed: x is already on the model's device, the CPU,
# so the forward pass works without the move. On a GPU it fails.
x.to(device)
x_device = x.device.type
on_model_device = x.device == model.weight.device
print(f"model on {model.weight.device.type}, x on {x_device}: same device? {on_model_device}")
unassigned_runs = device.type == "cpu" and tuple(model(x).shape) == (4, 2)  # only where it can
same_when_nothing_changes = x.to("cpu") is x


def new_memory(result: torch.Tensor, original: torch.Tensor) -> bool:
    """A copy, not an alias: another object, in other memory on the same device."""
    same_device = result.device == original.device
    return result is not original and same_device and result.data_ptr() != original.data_ptr()


# "cpu:0" differs from x.device, which has no index, so to("cpu:0") returns a copy. So on meta,
# but a meta tensor has no memory to compare: there the check is that another tensor comes back.
index_copies = new_memory(x.to("cpu:0"), x) and x.device != torch.device("cpu:0")
on_meta = torch.empty(2, device="meta")
meta_index_copies = on_meta.to("meta") is on_meta and on_meta.to("meta:0") is not on_meta
copy_requested = x.to("cpu", copy=True)  # copy=True always returns a new tensor
copy_is_new = new_memory(copy_requested, x)
print(
    "x.to('cpu') is x:", same_when_nothing_changes, " x.to('cpu', copy=True) is x:", not copy_is_new
)
print("x.to('cpu:0') is x:", x.to("cpu:0") is x, " x.device:", x.device)
print("on meta, to('meta') returns the tensor, to('meta:0') another one:", meta_index_copies)
# The memory format counts too: channels-last images differ from the default layout.
images = torch.ones(2, 3, 4, 4)
channels_last = images.to(memory_format=torch.channels_last)
format_kept = channels_last.to(memory_format=torch.channels_last) is channels_last
format_changed = new_memory(channels_last.to(memory_format=torch.contiguous_format), channels_last)
print("channels-last images: to(channels_last) returns them:", format_kept, end="")
print(", to(contiguous_format) returns them:", not format_changed)
# to() compares the format PyTorch infers from the strides. A crop of images in the default format
# counts as contiguous format: to() returns it unchanged, still not contiguous; contiguous() copies.
crop = images[:, :, 1:3, 1:3]
crop_to = crop.to(memory_format=torch.contiguous_format)
crop_kept = crop_to is crop and not crop_to.is_contiguous()
crop_copy = crop.contiguous()
crop_copied = crop_copy is not crop and crop_copy.is_contiguous()
print("a crop: to(contiguous_format) returns it:", crop_to is crop, end="")
print(", contiguous:", crop_to.is_contiguous(), " crop.contiguous() is contiguous:", crop_copied)

x = x.to(device)  # the fix: keep what to() returns
output_shape = tuple(model(x).shape)
print("after x = x.to(device): output shape", output_shape)

converted_float64 = layer.weight.dtype == torch.float64
assert returns_itself == [True, True, True]  # witness: module-to-returns-self
assert same_weight_object and converted_float64  # witness: module-to
assert meta_new_object and optimizer_holds_old  # witness: meta-new-parameter
assert flag_new_object  # witness: overwrite-new-parameter
assert swap_keeps_object  # witness: swap-keeps-parameter
assert new_tensor and dtype_after_unassigned_to == "torch.float32"  # witness: tensor-to-new
assert meta_devices == ("meta", "cpu")  # witness: unassigned-meta
assert same_when_nothing_changes  # witness: same-when-nothing-changes
assert (
    same_when_nothing_changes and index_copies and meta_index_copies
)  # witness: device-must-be-equal
assert copy_is_new  # witness: copy-true-new
new_layout = channels_last is not images
assert new_layout and format_kept and format_changed  # witness: memory-format-counts
assert crop_kept and crop_copied  # witness: inferred-format-counts
if device.type == "cpu":
    assert on_model_device and unassigned_runs  # witness: cpu-unassigned-runs
if device.type == "cuda":
    assert (x_device, model.weight.device.type) == ("cpu", "cuda")  # witness: unassigned-device
    moved = model.weight is weight_before_move and model.weight.device.type == "cuda"
    assert moved  # witness: cuda-move-keeps-parameter
    # "cuda" has no index; to() reads it as the current device, where x already is
    on_current = x.device.index == torch.cuda.current_device()
    assert on_current and x.to("cuda") is x  # witness: index-less-is-current
assert output_shape == (4, 2)

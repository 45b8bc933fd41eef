"""A model built on the meta device has no memory: load_state_dict copies nothing into it unless
assign=True, which makes it take the loaded tensors (the same memory) and, with them, the device
map_location chose and the dtype they were saved in."""

import io
import textwrap
import warnings

import torch
from torch import nn

torch.manual_seed(0)
checkpoint = io.BytesIO()  # an in-memory file; a path works the same way
torch.save(nn.Linear(3, 2).state_dict(), checkpoint)


def load_cpu() -> dict[str, torch.Tensor]:
    checkpoint.seek(0)
    return torch.load(checkpoint, map_location="cpu")


with torch.device("meta"):  # builds the model without allocating its weights
    copied, assigned = nn.Linear(3, 2), nn.Linear(3, 2, dtype=torch.bfloat16)

# The default assign=False copies the values into the model's tensors: on meta, there is nowhere
# to copy them, so nothing happens but a warning for each of them.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    copied.load_state_dict(load_cpu())
said = [str(warning.message) for warning in caught]
print("assign=False: weight on", copied.weight.device, f"| {len(said)} warnings, the first:")
print(textwrap.fill(said[0].split(" (")[0], 96, initial_indent="  ", subsequent_indent="  "))

# assign=True wraps the loaded tensors in new Parameters (without the torch.__future__ swap
# switch, which keeps the objects), with the device they were loaded to
# and their dtype: the bfloat16 model gets the file's float32.
cpu_state = load_cpu()
meta_weight = assigned.weight
assigned.load_state_dict(cpu_state, assign=True)
takes_tensor = assigned.weight.data_ptr() == cpu_state["weight"].data_ptr()
print("assign=True:  weight on", assigned.weight.device, "| a new Parameter:", end=" ")
print(assigned.weight is not meta_weight, "| the loaded tensor's memory:", takes_tensor, end=" ")
print("| dtype:", assigned.weight.dtype)

copy_is_no_op = copied.weight.device.type == "meta" and len(said) == 2
assert copy_is_no_op and all("is a no-op" in text for text in said)  # witness: meta-copy-warns
is_new_parameter = isinstance(assigned.weight, nn.Parameter) and all(
    assigned.weight is not other for other in (meta_weight, cpu_state["weight"])
)
on_cpu = assigned.weight.device.type == "cpu"
takes_dtype = meta_weight.dtype == torch.bfloat16 and assigned.weight.dtype == torch.float32
assert is_new_parameter and on_cpu and takes_tensor and takes_dtype  # witness: assign-takes-loaded

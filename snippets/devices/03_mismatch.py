"""A model on one device, its input on another: the error, a way to see it anywhere, and the fix."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
model = nn.Linear(3, 2).to(device)
batch = torch.randn(4, 3)  # made on the CPU, as a DataLoader yields it


def first_line_of(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


# The bug: the batch was never moved. On a GPU this raises; on a CPU-only machine it runs.
try:
    model(batch)
    on_device = "no error: model and batch are both on the CPU"
except RuntimeError as error:
    on_device = first_line_of(error)
print(f"model on {device}, batch on cpu ->", on_device)

# The meta device makes this mistake visible on every machine. Not every operation checks devices
# on meta: nn.Linear does because of its bias (05_forward_tensors.py shows which ones do).
meta_model = nn.Linear(3, 2).to("meta")
try:
    meta_model(batch)
except RuntimeError as error:
    message = first_line_of(error)
print("model on meta, batch on cpu ->", message)

# The fix: send each batch to the device the model's parameters are on.
model_device = next(model.parameters()).device
output = model(batch.to(model_device))
output_shape = tuple(output.shape)
print("fixed: output on", output.device, "with shape", output_shape)

# Elementwise operations allow one mix: a 0-dimensional CPU tensor (a scalar) with any device.
scaled = output * torch.tensor(2.0)
scalar_is_fine = scaled.device == output.device
print("output * torch.tensor(2.0) stays on", scaled.device)
meta_output = torch.ones(4, 2, device="meta")
scalar_on_meta = (meta_output * torch.tensor(2.0)).device.type  # a real mix on every machine
try:
    meta_output * torch.tensor([2.0])  # one dimension, one element: no longer a scalar
    one_dim = "no error"
except RuntimeError as error:
    one_dim = first_line_of(error)
print("meta output * torch.tensor(2.0) is on", scalar_on_meta)
print("meta output * torch.tensor([2.0]) ->", one_dim)
try:  # not an elementwise operation: the scalar is refused
    torch.stack([meta_output.sum(), torch.tensor(2.0)])
    stacked = "no error"
except RuntimeError as error:
    stacked = first_line_of(error)
print("torch.stack of a meta scalar and a CPU scalar ->", stacked)

# Some operations mix devices by design: copy_ copies across devices, and a CPU tensor of indices
# may index a tensor on another device.
rows = torch.tensor([0, 2])  # indices, on the CPU
mixed = {}
for target, tensor in (("meta", meta_output), (device.type, output)):
    mixed[f"{target}: copy_ from the CPU"] = torch.empty(4, 3, device=target).copy_(batch)
    mixed[f"{target}: indexed by CPU indices"] = tensor[rows]
for what, result in mixed.items():
    print(f"{what} -> runs, result on {result.device.type}")

if device.type == "cpu":
    assert on_device.startswith("no error")  # witness: hidden-on-cpu
elif device.type == "cuda":
    assert "Expected all tensors to be on the same device" in on_device
    assert "cuda:0" in on_device and "cpu" in on_device  # witness: names-both-devices
else:
    assert on_device.startswith("RuntimeError")
assert message.startswith("RuntimeError") and "is not on the expected device" in message
assert output.device.type == device.type and output_shape == (4, 2)  # witness: fixed
assert scalar_is_fine and scalar_on_meta == "meta"  # witness: scalar-is-fine
assert "is not on the expected device" in one_dim  # witness: one-dim-must-match
assert "is not on the expected device" in stacked  # witness: stack-refuses-cpu-scalar
assert all(
    r.device.type == what.split(":")[0] for what, r in mixed.items()
)  # witness: mix-by-design

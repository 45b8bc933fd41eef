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
try:  # the allowance belongs to each operation: stack refuses the CPU scalar
    torch.stack([meta_output.sum(), torch.tensor(2.0)])
    stacked = "no error"
except RuntimeError as error:
    stacked = first_line_of(error)
print("torch.stack of a meta scalar and a CPU scalar ->", stacked)

# Some operations take a tensor from another device by design: copy_ copies across devices,
# subscripting moves CPU indices to the indexed tensor's device, and fill_ and index assignment
# read a 0-dimensional CPU value. Meta cannot show it, since it checks too little: even
# index_select, which a GPU refuses with CPU indices, runs there.
rows = torch.tensor([0, 2])  # indices, on the CPU
meta_selected = torch.index_select(meta_output, 0, rows).device.type
print("on meta, torch.index_select with CPU indices runs, result on", meta_selected)
if device.type == "cuda":
    assigned = output.detach().clone()
    assigned[assigned > 0] = torch.tensor(0.0)  # a 0-dimensional CPU value
    mixed = {
        "copy_ from a CPU tensor": torch.empty(4, 3, device=device).copy_(batch),
        "output[rows], rows on the CPU": output[rows],
        "fill_ with a CPU scalar": output.detach().clone().fill_(torch.tensor(0.0)),
        "output[mask] = a CPU scalar": assigned,
    }
    for what, result in mixed.items():
        print(f"{what} -> runs, result on {result.device}")
    try:
        torch.index_select(output, 0, rows)
        selected = "no error"
    except RuntimeError as error:
        selected = first_line_of(error)
    print("torch.index_select(output, 0, rows) ->", selected)

if device.type == "cpu":
    assert on_device.startswith("no error")  # witness: hidden-on-cpu
elif device.type == "cuda":
    assert "Expected all tensors to be on the same device" in on_device
    assert "cuda:0" in on_device and "cpu" in on_device  # witness: names-both-devices
    assert all(r.device.type == "cuda" for r in mixed.values())  # witness: mix-by-design
    assert selected.startswith("RuntimeError") and "cpu" in selected  # witness: select-refuses
else:
    assert on_device.startswith("RuntimeError")
assert message.startswith("RuntimeError") and "is not on the expected device" in message
assert output.device.type == device.type and output_shape == (4, 2)  # witness: fixed
assert scalar_is_fine and scalar_on_meta == "meta"  # witness: scalar-is-fine
assert "is not on the expected device" in one_dim  # witness: one-dim-must-match
assert "is not on the expected device" in stacked  # witness: stack-refuses-cpu-scalar
assert meta_selected == "meta"  # witness: meta-indexing-unchecked

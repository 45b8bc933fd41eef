"""A checkpoint written on a GPU, read on a machine without one: the error, and map_location.

To show this on any machine, the file is written with its tensors tagged "cuda:0" (as torch.save
tags them on a GPU), and read while torch.cuda.is_available() reports False. The two mock.patch
calls stage that situation; real code needs neither.
"""

import io
from unittest import mock

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 2)
checkpoint = io.BytesIO()
with mock.patch("torch.serialization.location_tag", return_value="cuda:0"):
    torch.save(model.state_dict(), checkpoint)

with mock.patch("torch.cuda.is_available", return_value=False):
    checkpoint.seek(0)
    try:
        torch.load(checkpoint)
    except RuntimeError as error:
        message = f"{type(error).__name__}: {error}"
    print("without map_location:", message)

    checkpoint.seek(0)
    state = torch.load(checkpoint, map_location="cpu")
    print("with map_location='cpu':", {name: str(tensor.device) for name, tensor in state.items()})

restored = nn.Linear(3, 2)
restored.load_state_dict(state)
same_weights = torch.equal(restored.weight, model.weight)
print("restored weights equal the saved ones:", same_weights)

refused = message.startswith("RuntimeError: Attempting to deserialize object on a CUDA device")
loaded_on_cpu = all(tensor.device.type == "cpu" for tensor in state.values())

assert refused  # witness: refuses-cuda-file
assert "map_location=torch.device('cpu')" in message  # witness: suggests-fix
assert loaded_on_cpu and same_weights  # witness: map-location-cpu-loads

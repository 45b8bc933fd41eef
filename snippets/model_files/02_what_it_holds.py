"""What a safetensors file holds: a JSON header of names, dtypes, shapes and offsets, then bytes."""

import json
import struct

import torch
from safetensors.torch import save
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 2)
data = save(model.state_dict())

header_length = struct.unpack("<Q", data[:8])[0]  # the first 8 bytes: the header's length
header = json.loads(data[8 : 8 + header_length])  # then the header, JSON text
raw_bytes = len(data) - 8 - header_length  # then the tensors' bytes, one after the other
print(json.dumps(header))
fields = sorted({field for entry in header.values() for field in entry})
element_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
print(
    f"fields per tensor: {fields}; {raw_bytes} bytes of data for {element_bytes} bytes of numbers"
)


def refusal(tensors: dict) -> str:
    try:
        save(tensors)
    except ValueError as error:
        return str(error)
    return "saved"


# Anything that is not a tensor has no place in the file: save() refuses it.
step_error = refusal({"weight": torch.ones(2), "step": 10})
print("with an int:", step_error)

# An optimizer's state_dict is nested dictionaries and numbers: refused as well.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.randn(4, 3)).sum().backward()
optimizer.step()
optimizer_error = refusal(optimizer.state_dict())
print("an optimizer's state_dict:", optimizer_error)

# A tensor is stored as its own elements, not its storage: a view costs only what it shows.
big = torch.arange(100_000, dtype=torch.float32)
view_file = save({"first_ten": big[:10]})
view_data_bytes = len(view_file) - 8 - struct.unpack("<Q", view_file[:8])[0]
print(f"big[:10] of a tensor of {big.numel()} elements: {view_data_bytes} bytes of data")

assert fields == ["data_offsets", "dtype", "shape"]  # witness: header-fields
assert raw_bytes == element_bytes  # witness: only-tensor-bytes
assert step_error.startswith("Key `step` is invalid")  # witness: int-refused
assert "expected torch.Tensor" in step_error
assert "expected torch.Tensor" in optimizer_error  # witness: optimizer-refused
assert view_data_bytes == 10 * 4  # witness: view-own-elements

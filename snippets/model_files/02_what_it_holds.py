"""What a safetensors file holds: a JSON header of names, dtypes, shapes and offsets, then bytes."""

import json
import struct

import torch
from safetensors.torch import load, save
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

# An optimizer's state_dict holds tensors (the momentum buffers), but nested in dictionaries
# next to plain numbers (the learning rate, the momentum): the top-level "state" is refused.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.randn(4, 3)).sum().backward()
optimizer.step()
optimizer_state = optimizer.state_dict()
optimizer_error = refusal(optimizer_state)
print("an optimizer's state_dict:", optimizer_error)

# A random state that is a tensor is fine: torch's CPU generator state is a uint8 tensor.
rng_state = torch.get_rng_state()
rng_round_trip = load(save({"torch_rng": rng_state}))["torch_rng"]
print(f"torch.get_rng_state(): a {rng_state.dtype} tensor of {rng_state.numel()} bytes, saved")

# A contiguous tensor is stored as its own elements, not its storage: big[:10] costs 40 bytes.
big = torch.arange(100_000, dtype=torch.float32)
view_file = save({"first_ten": big[:10]})
view_data_bytes = len(view_file) - 8 - struct.unpack("<Q", view_file[:8])[0]
print(f"big[:10] of a tensor of {big.numel()} elements: {view_data_bytes} bytes of data")

# A view whose elements are not side by side in memory is refused: make it contiguous first.
strided_error = refusal({"every_other": big[::2]})
print("big[::2]:", strided_error.split(" which")[0])
packed = load(save({"every_other": big[::2].contiguous()}))["every_other"]

assert fields == ["data_offsets", "dtype", "shape"]  # witness: header-fields
assert raw_bytes == element_bytes  # witness: only-tensor-bytes
assert step_error.startswith("Key `step` is invalid")  # witness: int-refused
assert "expected torch.Tensor" in step_error
momentum = [entry["momentum_buffer"] for entry in optimizer_state["state"].values()]
assert (  # witness: optimizer-refused
    all(isinstance(buffer, torch.Tensor) for buffer in momentum)
    and optimizer_state["param_groups"][0]["lr"] == 0.1
    and optimizer_error.startswith("Key `state` is invalid")
    and "<class 'dict'>" in optimizer_error
)
assert (  # witness: rng-saves
    rng_state.dtype == torch.uint8 and torch.equal(rng_round_trip, rng_state)
)
assert big[:10].untyped_storage().nbytes() == 400_000  # the view's storage: the whole tensor
assert view_data_bytes == 10 * 4  # witness: view-own-elements
assert not big[::2].is_contiguous()
assert (  # witness: strided-refused
    strided_error.startswith("You are trying to save a non contiguous tensor")
)
assert torch.equal(packed, big[::2])

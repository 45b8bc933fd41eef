"""What a function given as map_location receives for a file written on a GPU, on any machine.

As in 07_gpu_checkpoint_on_cpu.py, mock.patch tags the saved tensors "cuda:0", as a GPU would.
"""

import io
from unittest import mock

import torch
from torch import nn

checkpoint = io.BytesIO()
with mock.patch("torch.serialization.location_tag", return_value="cuda:0"):
    torch.save(nn.Linear(3, 2).state_dict(), checkpoint)

received = []  # (the device of the storage the function receives, its saved location)


def keep_on_cpu(storage, location):
    received.append((storage.device.type, location))
    return storage


checkpoint.seek(0)
state = torch.load(checkpoint, map_location=keep_on_cpu)
print("the function received (storage device, saved location):", received)
print("loaded to:", sorted({str(tensor.device) for tensor in state.values()}))

assert received == [("cpu", "cuda:0")] * len(state)  # witness: function-gets-cpu-storages

"""Where torch.load puts each storage, and what a function given as map_location receives for a
file written on a GPU, on any machine.

As in 07_gpu_checkpoint_on_cpu.py, mock.patch tags the saved tensors "cuda:0", as a GPU would.
"""

import io
from unittest import mock

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# Without map_location, a storage goes back to the device it was saved from.
saved_on_device = io.BytesIO()
torch.save(torch.ones(2, device=device), saved_on_device)
saved_on_device.seek(0)
reloaded = torch.load(saved_on_device)
print(f"saved from {device}, loaded without map_location to:", reloaded.device)
# On any machine: a CPU tensor whose storage is tagged "meta" when saved goes back to meta.
tagged_meta = io.BytesIO()
with mock.patch("torch.serialization.location_tag", return_value="meta"):
    torch.save(torch.ones(2), tagged_meta)
tagged_meta.seek(0)
meta_reloaded = torch.load(tagged_meta)
print("saved with the location 'meta', loaded without map_location to:", meta_reloaded.device)

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

checkpoint.seek(0)  # a dictionary maps a saved location to a target
mapped = torch.load(checkpoint, map_location={"cuda:0": "cpu"})
print("with map_location={'cuda:0': 'cpu'}:", sorted({str(t.device) for t in mapped.values()}))

back_where_saved = reloaded.device.type == device.type and meta_reloaded.is_meta
assert back_where_saved  # witness: saved-device-restored
assert all(t.device.type == "cpu" for t in mapped.values())  # witness: dict-maps-location
assert received == [("cpu", "cuda:0")] * len(state)  # witness: function-gets-cpu-storages

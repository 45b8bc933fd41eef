"""map_location decides where the tensors in a file land when it is loaded."""

import tempfile
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Linear(3, 2).to(device)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "linear.pt"
    torch.save(model.state_dict(), path)  # each tensor is stored with the device it was on

    # Without map_location, back where it was saved from (fails if that device is missing).
    as_saved = torch.load(path)
    on_cpu = torch.load(path, map_location="cpu")  # always works, on any machine
    on_device = torch.load(path, map_location=device)

    seen_locations = []

    def remember_location(storage, location):
        seen_locations.append(location)  # the device tag in the file, e.g. "cpu" or "cuda:0"
        return storage.cpu()

    via_function = torch.load(path, map_location=remember_location)
    remapped = torch.load(path, map_location={"cuda:0": "cpu"})  # rename device tags: cuda:0 -> cpu

print("without map_location:", as_saved["weight"].device.type)
print("map_location='cpu':  ", on_cpu["weight"].device.type)
print("map_location=device: ", on_device["weight"].device.type)
print("map_location={'cuda:0': 'cpu'}:", remapped["weight"].device.type)
storages_in_file = len(seen_locations)
print(
    f"the function was called for {storages_in_file} storages, tagged {sorted(set(seen_locations))}"
)

# load_state_dict copies into the model's own tensors, wherever they live.
cpu_model = nn.Linear(3, 2)
cpu_model.load_state_dict(on_device)
loaded_across_devices = cpu_model.weight.device.type == "cpu" and torch.equal(
    cpu_model.weight, on_cpu["weight"]
)
print(
    f"a CPU model loads tensors that are on {on_device['weight'].device.type}:",
    loaded_across_devices,
)

assert as_saved["weight"].device.type == device.type
assert on_cpu["weight"].device.type == "cpu" and via_function["bias"].device.type == "cpu"
assert on_device["weight"].device.type == device.type and remapped["weight"].device.type == "cpu"
assert storages_in_file == 2 and all(loc.startswith(device.type) for loc in seen_locations)
assert loaded_across_devices

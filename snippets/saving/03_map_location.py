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
    cpu_path = Path(folder) / "linear_cpu.pt"
    torch.save(nn.Linear(3, 2).state_dict(), cpu_path)  # a file written from the CPU

    # Without map_location, back where it was saved from (fails if that device is missing).
    as_saved = torch.load(path)
    from_cpu_file = torch.load(cpu_path)  # CPU tensors stay on the CPU, whatever you train on
    on_cpu = torch.load(path, map_location="cpu")  # works on any machine
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

# load_state_dict (assign=False, the default) copies into the model's own tensors.
cpu_model = nn.Linear(3, 2)
cpu_weight = cpu_model.weight
cpu_model.load_state_dict(on_device)
loaded_across_devices = cpu_model.weight.device.type == "cpu" and torch.equal(
    cpu_model.weight, on_cpu["weight"]
)
copied_into_model = cpu_model.weight is cpu_weight
separate_memory = cpu_model.weight.data_ptr() != on_device["weight"].data_ptr()
print(
    f"a CPU model loads tensors that are on {on_device['weight'].device.type}:",
    loaded_across_devices,
)

# With assign=True the model takes the loaded tensors themselves, on the device they were loaded to.
assigned = nn.Linear(3, 2, device=device)
assigned.load_state_dict(on_cpu, assign=True)
print("after assign=True, a model created on", device, "has its weight on", assigned.weight.device)
took_loaded_tensors = assigned.weight.data_ptr() == on_cpu["weight"].data_ptr()

# The optimizer's load_state_dict converts its state to each parameter's device and dtype.
adam = torch.optim.Adam(model.parameters())
model(torch.ones(1, 3, device=device)).sum().backward()
adam.step()
adam_state = adam.state_dict()  # Adam's running averages are float32 tensors on `device`
model64 = nn.Linear(3, 2).double()  # float64 parameters on the CPU
adam64 = torch.optim.Adam(model64.parameters())
adam64.load_state_dict(adam_state)
exp_avg = adam64.state[model64.weight]["exp_avg"]
print("Adam's running average after loading:", exp_avg.dtype, "on", exp_avg.device)

# Objects used exactly as loaded get no such help: the random state must be a CPU tensor.
try:
    torch.set_rng_state(torch.get_rng_state().to("meta"))
    rng_refused = "accepted"
except TypeError as error:
    rng_refused = f"{type(error).__name__}: {error}"
print("torch.set_rng_state with a tensor that is not on the CPU:", rng_refused)

assert all(loc.startswith(device.type) for loc in seen_locations)  # witness: file-records-device
assert as_saved["weight"].device.type == device.type  # witness: load-restores-device
assert from_cpu_file["weight"].device.type == "cpu"  # witness: cpu-file-loads-on-cpu
assert on_cpu["weight"].device.type == "cpu" and via_function["bias"].device.type == "cpu"
assert on_device["weight"].device.type == device.type and remapped["weight"].device.type == "cpu"
assert storages_in_file == len(on_cpu) == 2  # witness: function-called-per-storage
assert loaded_across_devices and copied_into_model  # witness: load-copies-into-model
assert separate_memory  # witness: loaded-dict-is-second-copy
assert assigned.weight.device.type == "cpu" and took_loaded_tensors  # witness: assign-takes-device
assert exp_avg.dtype == torch.float64 and exp_avg.device.type == "cpu"  # witness: optimizer-moves
assert rng_refused.startswith("TypeError: RNG state must be a torch.ByteTensor")  # witness: rng-cpu

"""map_location decides where the tensors in a file land when it is loaded."""

import copy
import io
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Linear(3, 2).to(device)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "linear.pt"
    torch.save(model.state_dict(), path)  # each storage is stored with a tag naming its device
    cpu_path = Path(folder) / "linear_cpu.pt"
    torch.save(nn.Linear(3, 2).state_dict(), cpu_path)  # a file written from the CPU

    # Without map_location, back where it was saved from (fails if that device is missing).
    as_saved = torch.load(path)
    from_cpu_file = torch.load(cpu_path)  # CPU tensors stay on the CPU, whatever you train on
    on_cpu = torch.load(path, map_location="cpu")  # works on any machine
    on_device = torch.load(path, map_location=device)

    seen_locations = []

    def remember_location(storage, location):
        seen_locations.append(location)  # the device tag in the file: "cpu", "cuda:0", "mps", ...
        return storage.cpu()

    via_function = torch.load(path, map_location=remember_location)
    tag = seen_locations[0]
    remapped = torch.load(path, map_location={tag: "cpu"})  # rename a tag, e.g. cuda:0 -> cpu

print("without map_location:", as_saved["weight"].device.type)
print("map_location='cpu':  ", on_cpu["weight"].device.type)
print("map_location=device: ", on_device["weight"].device.type)
print(f"map_location={{{tag!r}: 'cpu'}}:", remapped["weight"].device.type)
storages_in_file = len(seen_locations)
saved_device_types = {location.split(":")[0] for location in seen_locations}  # "cuda:0" -> "cuda"
print(
    f"the function was called for {storages_in_file} storages, tagged {sorted(set(seen_locations))}"
)

# Three tensors that are views of one storage: the function is called once, for that storage.
big = torch.arange(10.0)
views = io.BytesIO()
torch.save({"a": big, "b": big[:3], "c": big[5:]}, views)
views.seek(0)
view_locations = []
torch.load(views, map_location=lambda storage, location: view_locations.append(location) or storage)
print("three views of one storage, calls:", len(view_locations))

# mmap=True maps the file instead of reading it; it needs the path, a file object is refused.
views.seek(0)
try:
    torch.load(views, mmap=True)
    mmap_refused = "accepted"
except ValueError as error:
    mmap_refused = f"{type(error).__name__}: {error}"
print("mmap=True with a file object:", mmap_refused)

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

# Into a model on "meta", a device that holds shapes but no data, that copy does nothing.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    on_meta = nn.Linear(3, 2, device="meta")
    on_meta.load_state_dict(remapped)  # assign=False
meta_warning = str(caught[0].message)
print("copied into a model on meta:", on_meta.weight.device, "|", meta_warning[:60], "...")

# With assign=True the model takes the loaded tensors themselves, on the device they were loaded
# to. A model created on "meta" shows it on any machine.
assigned = nn.Linear(3, 2, device="meta")
assigned.load_state_dict(on_cpu, assign=True)
print("after assign=True, a model created on meta has its weight on", assigned.weight.device)
# What the file does not hold is not assigned: a non-persistent buffer stays on meta.
with_buffer = nn.Linear(3, 2, device="meta")
with_buffer.register_buffer("scale", torch.ones(2, device="meta"), persistent=False)
scale_before = with_buffer.scale
with_buffer.load_state_dict(on_cpu, assign=True)
buffer_left_on_meta = with_buffer.scale is scale_before and not with_buffer.weight.is_meta
print("  a non-persistent buffer, which no state_dict holds, stays on meta:", buffer_left_on_meta)
took_loaded_tensors = assigned.weight.data_ptr() == on_cpu["weight"].data_ptr()
halved = nn.Linear(3, 2)  # float32
halved.load_state_dict({key: value.half() for key, value in on_cpu.items()}, assign=True)
print("after assign=True with float16 tensors, a float32 model's weight is", halved.weight.dtype)
# A live model's state_dict() is that model's storage: after assign=True, two models share it.
source, target = nn.Linear(3, 2), nn.Linear(3, 2)
target.load_state_dict(source.state_dict(), assign=True)
shares_with_source = target.weight.data_ptr() == source.weight.data_ptr()
print("assign=True with another model's state_dict(), the two share it:", shares_with_source)

# That call wrote a flag into on_cpu's metadata, and the flag survives torch.save: a later load of
# on_cpu with the default assign=False assigns too, in memory and from a file.
flagged = on_cpu._metadata[""]["assign_to_params_buffers"]
again = nn.Linear(3, 2)
again_weight = again.weight
again.load_state_dict(on_cpu)  # assign=False
again_assigned = again.weight is not again_weight
again_assigned = again_assigned and again.weight.data_ptr() == on_cpu["weight"].data_ptr()
resaved = io.BytesIO()
torch.save(on_cpu, resaved)
resaved.seek(0)
from_file = nn.Linear(3, 2)
from_file_weight = from_file.weight
from_file.load_state_dict(torch.load(resaved))  # assign=False
from_file_assigned = from_file.weight is not from_file_weight
print(
    "a later default load of that dictionary replaces the weight (in memory, from a file):",
    again_assigned,
    from_file_assigned,
)
# A dictionary without metadata (a plain dict, a comprehension, even state_dict().copy()) cannot be
# marked: after assign=True, a later default load copies again.
live = nn.Linear(3, 2).state_dict()
plain_copied = True
for plain in (dict(live), {key: value for key, value in live.items()}, live.copy()):
    nn.Linear(3, 2).load_state_dict(plain, assign=True)
    plain_target = nn.Linear(3, 2)
    plain_target_weight = plain_target.weight
    plain_target.load_state_dict(plain)  # assign=False
    unmarked = plain_target.weight is plain_target_weight and not hasattr(plain, "_metadata")
    plain_copied = plain_copied and unmarked
# copy.copy keeps the metadata object itself: an assign=True load of the copy marks the original.
shallow = copy.copy(live)
nn.Linear(3, 2).load_state_dict(shallow, assign=True)
original_marked = live._metadata[""].get("assign_to_params_buffers") is True
shallow_shares_mark = shallow._metadata is live._metadata and original_marked
print("assign=True with a copy.copy of a state_dict marks the original too:", shallow_shares_mark)

# The optimizer's load_state_dict converts the state of each floating-point parameter to that
# parameter's device and dtype, whatever the entry's dtype, but leaves the step count as it was
# (unless it comes from a fused or capturable Adam: the flags in the loaded state decide).
adam = torch.optim.Adam(model.parameters())
model(torch.ones(1, 3, device=device)).sum().backward()
adam.step()
adam_state = adam.state_dict()  # Adam's running averages are float32 tensors on `device`
adam_state["state"][0] = {**adam_state["state"][0], "count": torch.tensor(3)}  # an int64 entry
model64 = nn.Linear(3, 2, device="meta", dtype=torch.float64)
adam64 = torch.optim.Adam(model64.parameters())
adam64.load_state_dict(adam_state)
exp_avg, step = adam64.state[model64.weight]["exp_avg"], adam64.state[model64.weight]["step"]
print("Adam's running average after loading:", exp_avg.dtype, "on", exp_avg.device)
print("Adam's step count after loading:     ", step.dtype, "on", step.device)
count = adam64.state[model64.weight]["count"]
print("the int64 entry after loading:       ", count.dtype, "on", count.device)
step_is_source_step = step is adam.state[model.weight]["step"]

# A parameter that is not floating point, a complex one say, gets its state moved, not converted.
complex_source = nn.Parameter(torch.ones(2, dtype=torch.complex128))
complex_source.grad = torch.ones_like(complex_source)
complex_adam = torch.optim.Adam([complex_source])
complex_adam.step()
complex_target = nn.Parameter(torch.zeros(2, dtype=torch.complex64, device="meta"))
complex_loaded = torch.optim.Adam([complex_target])
complex_loaded.load_state_dict(complex_adam.state_dict())
complex_avg = complex_loaded.state[complex_target]["exp_avg"]
print("a complex64 parameter's running average:", complex_avg.dtype, "on", complex_avg.device)


def adam_after_loading(source_options: dict, target_options: dict) -> torch.optim.Adam:
    """One step of an Adam with source_options; load its state into a new Adam as above."""
    source = torch.optim.Adam(model.parameters(), **source_options)
    source.step()  # the gradients of the pass above
    target_model = nn.Linear(3, 2, device="meta", dtype=torch.float64)
    target = torch.optim.Adam(target_model.parameters(), **target_options)
    target.load_state_dict(source.state_dict())
    return target


def loaded_step(optimizer: torch.optim.Adam) -> torch.Tensor:
    return optimizer.state[optimizer.param_groups[0]["params"][0]]["step"]


fused_step = loaded_step(adam_after_loading({"fused": True}, {}))
print("the step count from a fused Adam after loading:", fused_step.dtype, "on", fused_step.device)
# The loaded state also replaces the settings of its parameter groups, fused included (not the
# defaults for groups added later, below).
was_fused = adam_after_loading({}, {"fused": True, "lr": 0.5})
settings = {key: was_fused.param_groups[0][key] for key in ("fused", "lr")}
settings["step on"] = loaded_step(was_fused).device.type
print("an Adam(fused=True, lr=0.5) after loading a plain Adam's state:", settings)
was_fused.add_param_group(
    {"params": [nn.Parameter(torch.ones(2, device="meta", dtype=torch.float64))]}
)
added_group = {key: was_fused.param_groups[-1][key] for key in ("fused", "lr")}
defaults_stay = added_group == {"fused": True, "lr": 0.5}  # the constructor's, not the loaded ones
print("  a group added after the load:", added_group)
# So does its claim to unscale gradients itself, as a fused step does: a GradScaler then leaves
# the unscaling to a step that no longer can, and that step raises.
scaled_model = nn.Linear(3, 2)
resumed = torch.optim.Adam(scaled_model.parameters(), fused=True)
plain_source = torch.optim.Adam(nn.Linear(3, 2).parameters())
plain_source.param_groups[0]["params"][0].grad = torch.ones(2, 3)
plain_source.param_groups[0]["params"][1].grad = torch.ones(2)
plain_source.step()
resumed.load_state_dict(plain_source.state_dict())
scaler = torch.amp.GradScaler("cpu")
scaler.scale(scaled_model(torch.ones(1, 3)).sum()).backward()
try:
    scaler.step(resumed)
    scaled_step = "no error"
except AssertionError as error:
    scaled_step = f"AssertionError: {error}"
print("  a GradScaler step on it:", scaled_step)
# The conversion reads the settings saved with the state (its param_groups), not the loading
# optimizer's: above, a fused target left the step count on the CPU; here a plain target moves it,
# because fused=True is written into the saved settings.
saved_as_fused = adam.state_dict()
saved_as_fused["param_groups"] = [{**g, "fused": True} for g in saved_as_fused["param_groups"]]
plain_adam = torch.optim.Adam(nn.Linear(3, 2, device="meta", dtype=torch.float64).parameters())
plain_adam.load_state_dict(saved_as_fused)
marked_step = loaded_step(plain_adam)
print("a plain Adam after loading a state whose settings say fused, step count on:", end=" ")
print(marked_step.device.type)
reads_saved = marked_step.device.type == "meta" and settings["step on"] == "cpu"

# What needs no conversion is not copied: an in-memory load shares those tensors.
twin = nn.Linear(3, 2).to(device)
twin_adam = torch.optim.Adam(twin.parameters())
twin_adam.load_state_dict(adam.state_dict())
source_state, twin_state = adam.state[model.weight], twin_adam.state[twin.weight]
shares_state = twin_state["step"] is source_state["step"]
shares_state = shares_state and twin_state["exp_avg"] is source_state["exp_avg"]
source_steps_before = source_state["step"].item()
twin(torch.ones(1, 3, device=device)).sum().backward()
twin_adam.step()  # one step of the copy
source_steps_after = source_state["step"].item()
print(f"one step of the copy moved the source's step count from {source_steps_before:.0f}", end="")
print(f" to {source_steps_after:.0f}")

# Objects used exactly as loaded get no such help: the random state must be a CPU tensor.
try:
    torch.set_rng_state(torch.get_rng_state().to("meta"))
    rng_refused = "accepted"
except TypeError as error:
    rng_refused = f"{type(error).__name__}: {error}"
print("torch.set_rng_state with a tensor that is not on the CPU:", rng_refused)

if device.type != "cpu":  # what only a machine with an accelerator can show
    assert saved_device_types == {device.type}  # witness: file-records-device
    assert as_saved["weight"].device.type == device.type  # witness: load-restores-device
    assert from_cpu_file["weight"].device.type == "cpu"  # witness: cpu-file-loads-on-cpu
    assert on_device["weight"].device.type == device.type
    assert loaded_across_devices  # witness: load-copies-across-devices
assert on_cpu["weight"].device.type == "cpu" and via_function["bias"].device.type == "cpu"
assert remapped["weight"].device.type == "cpu"
assert storages_in_file == len(on_cpu) == 2 and len(view_locations) == 1  # witness: per-storage
assert mmap_refused.startswith("ValueError: f must be a file path")  # witness: mmap-needs-path
assert copied_into_model and torch.equal(cpu_weight, on_cpu["weight"])  # witness: load-copies
assert separate_memory  # witness: loaded-dict-is-second-copy
assert on_meta.weight.device.type == "meta" and "no-op" in meta_warning  # witness: meta-no-op
takes_device = assigned.weight.device.type == "cpu" and took_loaded_tensors
takes_device = takes_device and halved.weight.dtype == torch.float16
assert takes_device  # witness: assign-takes-device
assert buffer_left_on_meta  # witness: unsaved-stays-on-meta
assert shares_with_source  # witness: assign-shares-with-source
converted = exp_avg.dtype == count.dtype == torch.float64
assert converted and exp_avg.device.type == count.device.type == "meta"  # witness: optimizer-moves
assert (
    step.dtype == torch.float32 and step.device.type == "cpu" and step_is_source_step
)  # witness: step-as-loaded
complex_moved = complex_avg.device.type == "meta"
assert complex_moved and complex_avg.dtype == torch.complex128  # witness: complex-keeps-dtype
assert flagged and again_assigned and from_file_assigned  # witness: assign-flag-sticks
assert plain_copied  # witness: plain-dict-unmarked
assert shallow_shares_mark  # witness: shallow-copy-shares-mark
assert fused_step.device.type == "meta"  # witness: fused-step-moves
assert reads_saved  # witness: conversion-reads-saved-settings
assert settings == {"fused": None, "lr": 0.001, "step on": "cpu"}  # witness: file-settings-decide
scaled_step_raises = scaled_step.startswith("AssertionError: Expected grad_scale and found_inf")
assert defaults_stay and scaled_step_raises  # witness: constructor-settings-stay
if device.type == "cuda":  # capturable=True needs a GPU
    capturable_step = loaded_step(adam_after_loading({"capturable": True}, {}))
    assert capturable_step.device.type == "meta"  # witness: capturable-step-moves
assert shares_state and source_steps_after == source_steps_before + 1  # witness: optimizer-shares
assert rng_refused.startswith("TypeError: RNG state must be a torch.ByteTensor")  # witness: rng-cpu

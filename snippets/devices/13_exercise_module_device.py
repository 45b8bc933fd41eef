"""Exercise: a helper that returns the one device of a module, and refuses when there is none."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


def module_device(module: nn.Module) -> torch.device:
    """The device of all of the module's parameters and buffers; ValueError if not exactly one."""
    devices = {tensor.device for tensor in [*module.parameters(), *module.buffers()]}
    if len(devices) != 1:
        found = ", ".join(sorted(str(d) for d in devices)) or "no parameters or buffers"
        raise ValueError(f"expected one device, found: {found}")
    return devices.pop()


model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2)).to(device)
found_device = module_device(model)
print("model is on:", found_device)

split = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
split[1].to("meta")  # half the model elsewhere, as in pipeline parallelism
errors = []
for candidate in (split, nn.ReLU()):
    try:
        module_device(candidate)
    except ValueError as error:
        errors.append(f"{type(error).__name__}: {error}")
        print(errors[-1])
split_error, empty_error = errors

# Buffers count: batch norm whose parameters moved but whose running statistics did not.
half_moved = nn.BatchNorm1d(8).eval()
for name, parameter in list(half_moved.named_parameters()):
    setattr(half_moved, name, nn.Parameter(parameter.detach().to("meta")))
try:
    half_moved(torch.ones(2, 8, device="meta"))
    half_moved_forward = "runs"
except RuntimeError as error:
    half_moved_forward = f"{type(error).__name__}: {error}"
print("parameters on meta, buffers on cpu, forward ->", half_moved_forward)
try:
    half_moved_found = str(module_device(half_moved))
except ValueError as error:
    half_moved_found = str(error)
for name, buffer in list(half_moved.named_buffers()):  # now move the buffers as well
    setattr(half_moved, name, buffer.to("meta"))
all_moved_forward = half_moved(torch.ones(2, 8, device="meta")).device
all_moved_found = module_device(half_moved)

assert found_device.type == device.type
assert split_error == "ValueError: expected one device, found: cpu, meta"
assert empty_error.endswith("no parameters or buffers")
helper_sees_both = half_moved_found == "expected one device, found: cpu, meta"
buffers_were_the_cause = all_moved_forward.type == "meta" and all_moved_found.type == "meta"
forward_refused = "is not on the expected device" in half_moved_forward
assert helper_sees_both and forward_refused and buffers_were_the_cause  # witness: buffers-count

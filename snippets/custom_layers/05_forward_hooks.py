"""Forward hooks: look at (or replace) a module's output without editing its class."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
x = torch.randn(16, 4).to(device)

records = []


def record_output(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
    """Called after module.forward as hook(module, positional inputs, output); returning None
    keeps the output."""
    records.append((type(module).__name__, tuple(output.shape), output.detach()))


handle = model[1].register_forward_hook(record_output)  # watch the ReLU
model(x)
model(x)
handle.remove()  # keep the handle: it is how the hook is taken off again
model(x)
calls_recorded = len(records)
recorded_shape = records[0][1]
zero_fraction = (records[0][2] == 0).float().mean().item()
print(
    f"hook ran {calls_recorded} times for 3 forward passes; "
    f"{records[0][0]} output shape {recorded_shape}"
)
print(f"fraction of ReLU outputs that are zero: {zero_fraction:.2f}")


def clamp_output(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.clamp(-0.1, 0.1)  # a returned value replaces the module's output


with torch.no_grad():
    plain = model(x)
    handle = model[2].register_forward_hook(clamp_output)
    clamped = model(x)
    handle.remove()
    restored = model(x)
largest_plain = plain.abs().max().item()
largest_clamped = clamped.abs().max().item()
hook_removed_cleanly = torch.equal(plain, restored)
print(f"largest |output|: {largest_plain:.2f} without the hook, {largest_clamped:.2f} with it")
print("after removal, outputs as before:", hook_removed_cleanly)

assert calls_recorded == 2 and recorded_shape == (16, 8) and 0 < zero_fraction < 1
assert largest_plain > 0.1 and abs(largest_clamped - 0.1) < 1e-6 and hook_removed_cleanly

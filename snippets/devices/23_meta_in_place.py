"""On meta, multiplication and fmod_ refuse a CPU tensor, but add_ (+=), *= and // do not; and a
check of the tensors a module keeps cannot see a tensor that forward creates."""

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


masks_made = set()  # (input's device, mask's device), for a check at the end


class HardCodedInPlace(nn.Module):
    """The mask of HardCoded in 05_forward_tensors.py, applied in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(x.shape[-1])  # on the CPU, wherever x is
        masks_made.add((x.device.type, mask.device.type))
        mask[0] = 0
        x = x.clone()
        x *= mask
        return x


class KeptInPlace(nn.Module):
    """The same mask, made once and kept as a plain attribute, which .to() does not move."""

    def __init__(self) -> None:
        super().__init__()
        self.mask = torch.ones(4)
        self.mask[0] = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x *= self.mask
        return x


def outcome(call, x: torch.Tensor) -> str:
    try:
        return f"runs, output on {call(x).device}"
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


class Reached(TorchDispatchMode):
    """Records the operator entries that a call reaches."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        reached.add(str(func))
        return func(*args, **(kwargs or {}))


cpu_row, reached = torch.ones(4), set()


def add_in_place(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    with Reached():
        x += cpu_row
    return x


calls = {  # each call meets a tensor left on the CPU
    "x * cpu_row": lambda x: x * cpu_row,
    "x.clone().fmod_(cpu_row)": lambda x: x.clone().fmod_(cpu_row),  # in place, and refused
    "x += cpu_row": add_in_place,  # on a clone of x
    "x // cpu_row": lambda x: x // cpu_row,
    "HardCodedInPlace()(x)": HardCodedInPlace(),
}
results = {}
for code, call in calls.items():
    on_meta = outcome(call, torch.ones(2, 4, device="meta"))
    on_device = outcome(call, torch.ones(2, 4, device=device))
    results[code] = on_meta, on_device
    print(f"{code}\n  on meta: {on_meta}\n  on {device}: {on_device}")

# The probes of 05_forward_tensors.py that fail on meta: each fails on the device check.
probes = {
    "torch.cat([x, cpu_row[None]])": lambda x: torch.cat([x, cpu_row[None]]),
    "nn.LayerNorm(4)(x)": nn.LayerNorm(4),  # its weight and bias are on the CPU
    "nn.Linear(4, 4)(x)": nn.Linear(4, 4),
}
probed = {code: outcome(probe, torch.ones(2, 4, device="meta")) for code, probe in probes.items()}
for code, on_meta in probed.items():
    print(f"{code}\n  on meta: {on_meta}")


# The other check: after .to("meta"), which tensors that the module keeps are not on meta?
def left_behind(module: nn.Module) -> list[str]:
    module.to("meta")
    kept = dict(module.named_parameters()) | dict(module.named_buffers())
    kept |= {name: value for name, value in vars(module).items() if isinstance(value, torch.Tensor)}
    return [name for name, tensor in kept.items() if tensor.device.type != "meta"]


checked = {}
for module in (HardCodedInPlace(), KeptInPlace()):
    name, found = type(module).__name__, left_behind(module)
    checked[name] = outcome(module, torch.ones(2, 4, device="meta")), found
    print(f"{name}: forward on meta {checked[name][0]} | left behind: {found}")

refused, missed = list(calls)[:2], list(calls)[2:]
refusal = "Tensor on device cpu is not on the expected device meta"
refuse_the_cpu = all(refusal in results[code][0] for code in refused)
run_with_it = all(results[code][0] == "runs, output on meta" for code in missed)
iadd_calls_add_ = reached == {"aten.add_.Tensor"}
assert refuse_the_cpu and run_with_it and iadd_calls_add_  # witness: meta-misses
probes_refuse = refusal in results["x * cpu_row"][0] and all(refusal in m for m in probed.values())
assert probes_refuse  # witness: meta-refuses
runs_on_meta = "runs, output on meta"
found_kept = checked["KeptInPlace"] == (runs_on_meta, ["mask"])
assert found_kept  # witness: kept-found
assert checked["HardCodedInPlace"] == (runs_on_meta, [])  # witness: escapes-both
made = " | ".join(f"input on {x_on} -> mask on {mask_on}" for x_on, mask_on in sorted(masks_made))
print("HardCodedInPlace:", made)
mask_on_cpu = {mask for _, mask in masks_made} == {"cpu"} and ("meta", "cpu") in masks_made
assert mask_on_cpu and (device.type, "cpu") in masks_made  # witness: mask-on-cpu
if device.type == "cuda":
    assert all("same device" in results[code][1] for code in calls)  # witness: cuda-refuses-all

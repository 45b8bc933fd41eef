"""Tensors made inside forward() must be made where the input is: x.new_*, or device=x.device."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


class HardCoded(nn.Module):
    """Zeroes the first feature with a mask built on the CPU, wherever x is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(x.shape[-1])
        mask[0] = 0
        return x * mask


class Portable(nn.Module):
    """The same computation, with the mask built like x: same device, same dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x.new_ones(x.shape[-1])  # or torch.ones(..., device=x.device, dtype=x.dtype)
        mask[0] = 0
        return x * mask


def try_forward(module: nn.Module, x: torch.Tensor) -> str:
    try:
        return f"output on {module(x).device}"
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


x = torch.ones(2, 4, device=device)
meta_x = torch.ones(2, 4, device="meta")
results = {}
for module in (HardCoded(), Portable()):
    for inputs in (x, meta_x):
        results[type(module).__name__, inputs.device.type] = outcome = try_forward(module, inputs)
        print(f"{type(module).__name__:9} on {inputs.device.type:4} -> {outcome}")

hard_coded_on_meta = results["HardCoded", "meta"]
half = torch.ones(1, 4, dtype=torch.float16)
hard_coded_half = str(HardCoded()(half).dtype)  # float16 * float32 mask promotes to float32
portable_half = str(Portable()(half).dtype)
print("float16 input -> HardCoded:", hard_coded_half, "| Portable:", portable_half)

# A forward pass on meta finds a CPU tensor only where the operation's meta version checks devices.
cpu_row = torch.ones(4)
probes = {  # a meta input meets a tensor left on the CPU: a plain tensor, or a layer's weights
    "meta_x * cpu_row": lambda: meta_x * cpu_row,
    "torch.cat([meta_x, cpu_row[None]])": lambda: torch.cat([meta_x, cpu_row[None]]),
    "nn.LayerNorm(4)": lambda: nn.LayerNorm(4)(meta_x),
    "nn.Linear(4, 4)": lambda: nn.Linear(4, 4)(meta_x),
    "meta_x @ torch.ones(4, 4)": lambda: meta_x @ torch.ones(4, 4),
    "nn.Linear(4, 4, bias=False)": lambda: nn.Linear(4, 4, bias=False)(meta_x),
    "nn.Conv1d(2, 3, 1)": lambda: nn.Conv1d(2, 3, 1)(meta_x[None]),
}
caught = {}
for code, probe in probes.items():
    try:
        outcome = f"runs, output on {probe().device}"
    except RuntimeError:
        outcome = "caught"
    caught[code] = outcome == "caught"
    print(f"meta input, CPU tensor in {code:34} -> {outcome}")

# The meta device has no values: code that reads one cannot run there.
try:
    meta_x.sum().item()
except RuntimeError as error:
    meta_item = f"{type(error).__name__}: {error}"
print("on meta, .item() ->", meta_item)

assert results["Portable", device.type].startswith("output on " + device.type)
assert results["Portable", "meta"] == "output on meta"  # witness: portable-runs-everywhere
assert "is not on the expected device" in hard_coded_on_meta  # witness: hard-coded-fails-on-meta
if device.type == "cpu":
    assert results["HardCoded", "cpu"] == "output on cpu"  # the bug is invisible on a CPU
else:
    assert results["HardCoded", device.type].startswith("RuntimeError")  # witness: fails-on-gpu
assert hard_coded_half == "torch.float32"  # witness: float32-mask-promotes
assert portable_half == "torch.float16"  # witness: new-ones-keeps-dtype
assert meta_item.startswith("RuntimeError") and ".item()" in meta_item  # witness: meta-no-item
# The first four refuse the CPU tensor; the matrix product, bias-free Linear and Conv1d do not.
assert [code for code in probes if caught[code]] == list(probes)[:4]  # witness: meta-checks-some

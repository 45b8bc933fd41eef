"""Which operations take a 0-dimensional CPU tensor beside a GPU tensor, by the operator list."""

from pathlib import Path

import torch
import torchgen  # installed with torch: its code generator and its list of operators

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# native_functions.yaml lists every operator. For an entry without `device_check: NoCheck`, the
# code generated for CUDA checks that all tensor arguments are on one device, CPU scalars too.
listing = Path(torchgen.__file__).parent / "packaged/ATen/native/native_functions.yaml"
no_check, name = {}, ""
for line in listing.read_text().splitlines():
    if line.startswith("- func:"):
        name = line.split()[2].split("(")[0]
        no_check[name] = False
    elif line.strip().startswith("device_check: NoCheck"):
        no_check[name] = True
entries, unchecked = len(no_check), sum(no_check.values())
print(f"entries: {entries}, with device_check: NoCheck: {unchecked}")

scalar = torch.tensor(0.5)  # 0-dimensional, on the CPU
operations = {  # operator entry: the call
    "mul.Tensor": lambda x: x * scalar,
    "clamp.Tensor": lambda x: torch.clamp(x, min=scalar),
    "logaddexp": lambda x: torch.logaddexp(x, scalar),
}


def outcome(call, x: torch.Tensor) -> str:
    try:
        return str(call(x).device)
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


results = {}
for entry, call in operations.items():
    on_meta, on_device = (outcome(call, torch.ones(3, device=where)) for where in ("meta", device))
    results[entry] = on_meta, on_device
    print(f"{entry:12} NoCheck {no_check[entry]!s:5} | meta: {on_meta} | {device}: {on_device}")

checked = [entry for entry in operations if not no_check[entry]]
assert checked == ["clamp.Tensor", "logaddexp"]  # witness: entries-differ
assert all(on_meta == "meta" for on_meta, _ in results.values())  # witness: meta-misses-it
if device.type == "cuda":
    assert results["mul.Tensor"][1].startswith("cuda")
    refused = [results[entry][1] for entry in checked]
    assert all("same device" in message for message in refused)  # witness: cuda-refuses

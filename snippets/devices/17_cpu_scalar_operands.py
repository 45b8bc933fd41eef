"""Which operations take a 0-dimensional CPU tensor beside a GPU tensor, by the operator list."""

from pathlib import Path

import torch
import torchgen  # installed with torch: its code generator and its list of operators
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# native_functions.yaml lists every operator. For an entry without `device_check: NoCheck`, the
# CUDA kernel generated for it checks that all tensor arguments are on one device, CPU scalars too.
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

# An entry implemented by calling other entries has a CompositeImplicitAutograd kernel instead.
has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key


class Reached(TorchDispatchMode):
    """Records the entries a call reaches on its way to a kernel."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        reached.append(str(func).removeprefix("aten.").removesuffix(".default"))
        return func(*args, **(kwargs or {}))


scalar = torch.tensor(0.5)  # 0-dimensional, on the CPU
operations = {  # operator entry: the call
    "mul.Tensor": lambda x: x * scalar,
    "clamp.Tensor": lambda x: torch.clamp(x, min=scalar),
    "logaddexp": lambda x: torch.logaddexp(x, scalar),
    "multiply.Tensor": lambda x: torch.multiply(x, scalar),  # aliases: no kernel of their own
    "clip.Tensor": lambda x: torch.clip(x, min=scalar),
}


def outcome(call, x: torch.Tensor) -> str:
    try:
        return str(call(x).device)
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


results, reaches = {}, {}
for entry, call in operations.items():
    x, reached = torch.ones(3, device="meta"), []
    with Reached():
        on_meta = outcome(call, x)
    reaches[entry] = reached[0]  # aliases resolved: the entry whose kernel runs
    results[entry] = on_meta, outcome(call, torch.ones(3, device=device))
    print(f"{entry:15} NoCheck {no_check[entry]!s:5} reaches {reaches[entry]:12}", end=" ")
    print(f"| meta: {on_meta} | {device}: {results[entry][1]}")

marked = [no_check[entry] for entry in operations]
assert marked == [True, False, False, False, False]  # witness: entries-differ
aliases = ["multiply.Tensor", "clip.Tensor"]
composite = [has_kernel(f"aten::{entry}", "CompositeImplicitAutograd") for entry in aliases]
followed = [reaches[entry] for entry in aliases]
assert all(composite) and followed == ["mul.Tensor", "clamp.Tensor"]  # witness: aliases-reach
assert all(on_meta == "meta" for on_meta, _ in results.values())  # witness: meta-misses-it
if device.type == "cuda":  # accepted exactly where the entry reached is NoCheck
    accepted = {entry: on_device.startswith("cuda") for entry, (_, on_device) in results.items()}
    by_rule = all(accepted[entry] == no_check[reaches[entry]] for entry in operations)
    refused = [results[entry][1] for entry in operations if not accepted[entry]]
    assert by_rule and all("same device" in error for error in refused)  # witness: cuda-refuses


# The allowance covers inputs only: a CPU scalar that receives the result is refused.
def add_to_cpu_total(x: torch.Tensor) -> torch.Tensor:
    total = torch.tensor(0.0)  # 0-dimensional, on the CPU
    total += x.sum()
    return total


def cpu_total_as_input(x: torch.Tensor) -> torch.Tensor:
    return torch.add(torch.tensor(0.0), x.sum())  # the same CPU scalar, as an input


added = outcome(add_to_cpu_total, torch.ones(3, device=device))
as_input = outcome(cpu_total_as_input, torch.ones(3, device=device))
# On a CPU run every tensor is on the CPU, so both lines run there: only CUDA shows the refusal.
print(f"x on {device}: total += x.sum() ->", added, "| torch.add(total, x.sum()) ->", as_input)
# Meta misses it: there the in-place add runs without an error, but a meta kernel computes
# nothing, so the CPU total keeps its value (0.0, not the 3.0 of the sum) and stays on the CPU.
meta_total = add_to_cpu_total(torch.ones(3, device="meta"))
print("x on meta: total += x.sum() ->", meta_total.device, "| total:", meta_total.item())
kept = meta_total.device.type == "cpu" and meta_total.item() == 0.0
assert kept  # witness: meta-keeps-cpu-total
if device.type == "cuda":
    output_refused = "same device" in added and as_input.startswith("cuda")
    assert output_refused  # witness: cpu-total-refused

# A few NoCheck entries take a CPU tensor by design, and their code uses its values.
cpu_values, cpu_rows = torch.arange(4.0), torch.tensor([0, 2])  # on the CPU, like scalar
by_design_calls = {  # recorded on meta, as for the aliases: the last entry is the call's own
    "copy_": lambda t: t.clone().copy_(cpu_values),
    "t[rows]": lambda t: t[cpu_rows],
    "fill_": lambda t: t.clone().fill_(scalar),
    "t[mask] = scalar": lambda t: t.clone().__setitem__(t > 1, scalar),
}
by_design = {}
for code, call in by_design_calls.items():
    reached = []
    with Reached():
        call(torch.arange(4.0, device="meta"))
    by_design[code] = reached[-1]
print("reached:", by_design)
# index_put_ has no CPU or CUDA kernel: its one kernel calls _index_put_impl_, which has them.
own_kernel = has_kernel("aten::index_put_", "CPU")
delegates = not own_kernel and has_kernel("aten::_index_put_impl_", "CPU")
unchecked_entries = [*by_design.values(), "_index_put_impl_"]
print("NoCheck:", {entry: no_check[entry] for entry in unchecked_entries})
marked_by_design = delegates and all(no_check[entry] for entry in unchecked_entries)
assert marked_by_design  # witness: by-design-unchecked
if device.type == "cuda":
    gpu, rows = torch.arange(4.0, device=device), torch.tensor([0, 2])  # rows on the CPU
    assigned = gpu.clone()
    assigned[gpu > 1] = scalar  # index assignment of a 0-dimensional CPU value
    values = [
        torch.empty(4, device=device).copy_(torch.arange(4.0)),
        gpu[rows],
        gpu.clone().fill_(scalar),
        assigned,
    ]
    print("copy_, t[rows], fill_, t[mask] = scalar:", [v.tolist() for v in values])
    expected = [[0.0, 1.0, 2.0, 3.0], [0.0, 2.0], [0.5] * 4, [0.0, 1.0, 0.5, 0.5]]
    assert [v.tolist() for v in values] == expected  # witness: by-design-uses-values

# Two remedies: a Python number selects the entry whose bound is a number, not a tensor, and
# new_tensor creates the bound on the input's device.
x, reached = torch.ones(3, device="meta"), []
with Reached():
    torch.clamp(x, min=0.5)
print("clamp with min=0.5 reaches:", reached, "| x.new_tensor(0.5) on", x.new_tensor(0.5).device)
assert reached == ["clamp"] and x.new_tensor(0.5).device == x.device  # witness: remedies

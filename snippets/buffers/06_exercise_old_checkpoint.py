"""Exercise: a model gains a buffer after checkpoints were saved. Do old checkpoints still load?"""
# guide: timeout=30

import json
import os
import platform
import subprocess
import sys

import torch
from torch import nn


class Version1(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)


class Version2(Version1):
    """Version 1 plus a lookup table that the constructor computes."""

    def __init__(self, persistent: bool) -> None:
        super().__init__()
        self.register_buffer("scales", torch.linspace(0.5, 2.0, 4), persistent=persistent)


old_checkpoint = Version1().state_dict()

try:
    Version2(persistent=True).load_state_dict(old_checkpoint)
    persistent_result = "loads"
except RuntimeError as error:
    persistent_result = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    missing_line = str(error).splitlines()[1].strip()
print("persistent=True: ", persistent_result)
print("   ", missing_line)

result = Version2(persistent=False).load_state_dict(old_checkpoint)
non_persistent_result = f"loads, missing keys {result.missing_keys}"
print("persistent=False:", non_persistent_result)

relaxed_model = Version2(persistent=True)
relaxed = relaxed_model.load_state_dict(old_checkpoint, strict=False)
relaxed_missing = ", ".join(relaxed.missing_keys)
keeps_constructor_value = torch.equal(relaxed_model.scales, torch.linspace(0.5, 2.0, 4))
loaded_linear = torch.equal(relaxed_model.linear.weight, old_checkpoint["linear.weight"])
print("persistent=True, strict=False: loads, missing keys", relaxed.missing_keys)

# strict=False forgives missing and unexpected keys, not a tensor of the wrong shape.
wrong_shape = dict(old_checkpoint, **{"linear.weight": torch.zeros(3, 4)})
try:
    Version2(persistent=False).load_state_dict(wrong_shape, strict=False)
    shape_result = "loads"
except RuntimeError as error:
    shape_result = str(error).splitlines()[1].strip()
print("wrong shape, strict=False:", shape_result.split(":")[0])

# A longer table from a float formula. linspace computes its first half as start + step * i and
# its second half as end - step * (999 - i): rounded once, as a fused multiply-add does, or twice,
# without one.
schedule = torch.linspace(1e-4, 0.02, 1000)  # a noise schedule
start, end, i = torch.tensor(1e-4), torch.tensor(0.02), torch.arange(500.0)
back = 999 - torch.arange(500.0, 1000.0)  # steps back from the end, for the second half
step = (end - start) / 999
# the product rounded to float32, then the sum
rounded_twice = torch.cat([start + step * i, end - step * back])
# the exact product (float64 holds it), rounded once to float32 with the sum
first_once = (start.double() + step.double() * i.double()).float()
rounded_once = torch.cat([first_once, (end.double() - step.double() * back.double()).float()])
table_matches = [torch.equal(schedule, table) for table in (rounded_once, rounded_twice)]
values_differing = (rounded_once[:500] != rounded_twice[:500]).sum().item()
print("linspace(1e-4, 0.02, 1000): rounded once, rounded twice:", table_matches)
print(f"  the two roundings differ in {values_differing} of the first 500 values")


# The same tables in new processes on other CPU kernels: PyTorch's baseline ones (no fused
# multiply-add), and AVX2 where this process runs the AVX-512 ones. PyTorch picks them once per
# process, and takes ATEN_CPU_CAPABILITY at its word: a child asked for kernels the CPU lacks
# would crash, so each child asks for a set below this process's own.
KERNEL_SETS = ["DEFAULT", "AVX2", "AVX512"]  # x86, from the oldest CPUs to the newest
here = torch.backends.cpu.get_cpu_capability()
below_here = KERNEL_SETS[: KERNEL_SETS.index(here)] if here in KERNEL_SETS else ["DEFAULT"]


def start_new_process(kernels: str) -> subprocess.Popen:
    """A new process asked for `kernels`: it prints its kernels and the three tables."""
    tables = "[torch.linspace(1e-4, 0.02, 1000).tolist(), powers.tolist(), short.tolist()]"
    child = "import torch; powers = torch.arange(500.0).pow(2.5); "
    child += "short = torch.linspace(0.5, 2.0, 4); "
    child += f"print(torch.backends.cpu.get_cpu_capability(), {tables})"
    environment = {**os.environ, "ATEN_CPU_CAPABILITY": kernels.lower()}
    return subprocess.Popen([sys.executable, "-c", child], env=environment, stdout=subprocess.PIPE)


def read_tables(child: subprocess.Popen) -> tuple[str, list[torch.Tensor]]:
    used, values = child.communicate()[0].decode().split(" ", 1)
    return used, [torch.tensor(table) for table in json.loads(values)]


powers = i.pow(2.5)  # from whole numbers, which are exact: only pow's kernel sets the bits
children = [start_new_process(kernels) for kernels in below_here]
tables = {here: [schedule, powers, torch.linspace(0.5, 2.0, 4)]}  # this process's kernels
tables.update(read_tables(child) for child in children)
for used, (table, power, _) in tables.items():
    rounding = [torch.equal(table, t) for t in (rounded_once, rounded_twice)]
    same_powers = torch.equal(power, powers)
    print(f"  on {used} kernels: {rounding}, pow(2.5) same as on {here}: {same_powers}")
# The baseline kernels round twice; the AVX2 and AVX-512 ones use a fused multiply-add.
by_kernels = "DEFAULT" in tables and len(tables) > 1
for used, (table, _, _) in tables.items():
    by_kernels &= torch.equal(table, rounded_twice if used == "DEFAULT" else rounded_once)
baseline = tables.get("DEFAULT", (schedule, powers))  # the baseline kernels' tables
# The short table's steps of 0.5 are exact: every set of kernels gives 0.5, 1.0, 1.5, 2.0.
exact = torch.tensor([0.5, 1.0, 1.5, 2.0])
short_exact = all(torch.equal(short, exact) for _, _, short in tables.values())
print("  linspace(0.5, 2.0, 4) on every set of kernels:", exact.tolist(), short_exact)
linspace_differs = not torch.equal(baseline[0], schedule)
pow_differs = not torch.equal(baseline[1], powers)

assert persistent_result.startswith("RuntimeError: Error(s) in loading")  # witness: refuses
assert missing_line.startswith("Missing key(s)") and "scales" in missing_line  # witness: names-key
assert non_persistent_result == "loads, missing keys []"  # witness: non-persistent-loads
assert relaxed_missing == "scales" and loaded_linear  # witness: strict-false-reports
assert keeps_constructor_value  # witness: keeps-constructor-value
assert short_exact  # witness: short-table-exact
assert shape_result.startswith("size mismatch for linear.weight")  # witness: shape-still-raises
assert values_differing > 0 and table_matches.count(True) == 1  # witness: table-rounding
# Checked on x86 CPUs with AVX2 or better: elsewhere the baseline kernels may round once.
on_x86 = platform.machine().lower() in ("x86_64", "amd64") and here != "DEFAULT"
assert by_kernels or not on_x86  # witness: table-by-kernels
# On such a CPU, both tables come out with other bits on the baseline kernels.
assert (linspace_differs and pow_differs) or not on_x86  # witness: tables-differ

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


# The same tables in new processes on the CPU's other kernels: PyTorch's baseline ones (no fused
# multiply-add), AVX2 and AVX-512, each where the CPU has it. PyTorch picks them once per process,
# and takes ATEN_CPU_CAPABILITY at its word: a child asked for kernels the CPU lacks would crash.
# So the list comes from what the CPU supports, which torch.cpu.get_capabilities() reports even
# where ATEN_CPU_CAPABILITY has lowered this process's own kernels.
cpu = torch.cpu.get_capabilities()
on_x86 = platform.machine().lower() in ("x86_64", "amd64")
# The instructions PyTorch asks of the CPU before it picks the AVX2 or the AVX-512 kernels.
has_avx2 = on_x86 and cpu.get("avx2", False) and cpu.get("fma3", False)
avx512_parts = ("avx512_vl", "avx512_bw", "avx512_dq", "fma3")
has_avx512 = on_x86 and all(cpu.get(part, False) for part in avx512_parts)
supported = ["DEFAULT"] + ["AVX2"] * has_avx2 + ["AVX512"] * has_avx512  # oldest CPUs to newest
here = torch.backends.cpu.get_cpu_capability()  # this process's kernels
picked = supported[-1] if on_x86 else here  # the kernels PyTorch picks by itself on this CPU
others = [kernels for kernels in supported if kernels != here]


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
children = [start_new_process(kernels) for kernels in others]
tables = {here: [schedule, powers, torch.linspace(0.5, 2.0, 4)]}  # this process's kernels
tables.update(read_tables(child) for child in children)
reference_powers = tables.get(picked, tables[here])[1]
for used, (table, power, _) in tables.items():
    rounding = [torch.equal(table, t) for t in (rounded_once, rounded_twice)]
    same_powers = torch.equal(power, reference_powers)
    print(f"  on {used} kernels: {rounding}, pow(2.5) same as on {picked}: {same_powers}")
# The short table's steps of 0.5 are exact: every set of kernels gives 0.5, 1.0, 1.5, 2.0.
exact = torch.tensor([0.5, 1.0, 1.5, 2.0])
short_exact = all(torch.equal(short, exact) for _, _, short in tables.values())
print("  linspace(0.5, 2.0, 4) on every set of kernels:", exact.tolist(), short_exact)
# The baseline kernels round twice; the AVX2 and AVX-512 ones use a fused multiply-add.
by_kernels = set(tables) == set(supported)  # every set the CPU supports ran
for used, (table, _, _) in tables.items():
    by_kernels &= torch.equal(table, rounded_twice if used == "DEFAULT" else rounded_once)
# Both tables come out with other bits on the baseline kernels than on each of the others.
baseline_linspace, baseline_powers, _ = tables.get("DEFAULT", tables[here])
vector_kernels = [kernels for kernels in tables if kernels != "DEFAULT"]
tables_differ = len(vector_kernels) > 0
for kernels in vector_kernels:
    tables_differ &= not torch.equal(baseline_linspace, tables[kernels][0])
    tables_differ &= not torch.equal(baseline_powers, tables[kernels][1])

assert persistent_result.startswith("RuntimeError: Error(s) in loading")  # witness: refuses
assert missing_line.startswith("Missing key(s)") and "scales" in missing_line  # witness: names-key
assert non_persistent_result == "loads, missing keys []"  # witness: non-persistent-loads
assert relaxed_missing == "scales" and loaded_linear  # witness: strict-false-reports
assert keeps_constructor_value  # witness: keeps-constructor-value
assert short_exact  # witness: short-table-exact
assert shape_result.startswith("size mismatch for linear.weight")  # witness: shape-still-raises
assert values_differing > 0 and table_matches.count(True) == 1  # witness: table-rounding
if has_avx2:  # on x86 CPUs with AVX2, whatever ATEN_CPU_CAPABILITY this process was started with
    assert by_kernels  # witness: table-by-kernels
    assert tables_differ  # witness: tables-differ

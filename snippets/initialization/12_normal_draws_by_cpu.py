"""Seed 0 in a new process: the same weights with the same CPU kernels, not always with others."""
# guide: timeout=60

import inspect
import json
import math
import os
import platform
import subprocess
import sys

import torch
from torch import nn


def seed_zero_draws() -> dict:
    """Seed 0's Linear weights, 1000 normal and 1000 rand draws, and the kernels that drew them."""
    torch.manual_seed(0)
    linear = nn.Linear(300, 64).weight.detach()  # uniform draws scaled into +-1/sqrt(300)
    torch.manual_seed(0)
    normal = torch.empty(1000).normal_()
    torch.manual_seed(0)
    rand = torch.rand(1000)  # between 0 and 1: random bits times a power of 2, exact on any kernels
    lists = {"linear": linear.flatten().tolist(), "normal": normal.tolist(), "rand": rand.tolist()}
    return {"kernels": torch.backends.cpu.get_cpu_capability(), **lists}


def start_new_process(**environment: str) -> subprocess.Popen:
    """seed_zero_draws() in a new Python process, as a rerun or another machine would make them."""
    function = inspect.getsource(seed_zero_draws)
    imports = "import json, torch\nfrom torch import nn\n"
    code = f"{imports}{function}\nprint(json.dumps(seed_zero_draws()))"
    run = [sys.executable, "-c", code]
    return subprocess.Popen(run, env={**os.environ, **environment}, stdout=subprocess.PIPE)


def read_draws(child: subprocess.Popen) -> dict:
    output = child.communicate()[0]
    assert child.returncode == 0, f"the new process failed with status {child.returncode}"
    return json.loads(output)


# The kernels to compare come from what the CPU offers, which torch.cpu.get_capabilities() reports
# even where ATEN_CPU_CAPABILITY gave this process other kernels. They are the instructions PyTorch
# asks of an x86 CPU before it picks its AVX2 or its AVX-512 kernels. A new process asked for
# kernels the CPU lacks would crash, so each set runs only where the CPU has it.
cpu = torch.cpu.get_capabilities()
x86 = platform.machine().lower() in ("x86_64", "amd64")
has_avx2 = x86 and cpu.get("avx2", False) and cpu.get("fma3", False)
avx512_parts = ("avx512_vl", "avx512_bw", "avx512_dq", "fma3")
has_avx512 = x86 and all(cpu.get(part, False) for part in avx512_parts)
offered = ["DEFAULT"] + ["AVX2"] * has_avx2 + ["AVX512"] * has_avx512

# The rerun inherits this process's environment, so it runs on this process's kernels: it stands
# in for that set, and a new process starts for each of the others.
rerun_process = start_new_process()
here_kernels = torch.backends.cpu.get_cpu_capability()
others = [kernels for kernels in offered if kernels != here_kernels]
children = {kernels: start_new_process(ATEN_CPU_CAPABILITY=kernels.lower()) for kernels in others}
here = seed_zero_draws()
rerun = read_draws(rerun_process)
started = {kernels: read_draws(child) for kernels, child in children.items()}
by_kernels = {kernels: started.get(kernels, rerun) for kernels in offered}
baseline = by_kernels["DEFAULT"]  # PyTorch's baseline kernels
kinds = ("linear", "normal", "rand")
same_kernels_same_draws = all(here[kind] == rerun[kind] for kind in kinds)
print(f"kernels: {here['kernels']} here, {rerun['kernels']} in the rerun")
print("same weights, normal and rand draws, bit for bit:", same_kernels_same_draws)
print("new processes on the kernels this CPU offers:", ", ".join(by_kernels))
# These draws have no AVX-512 kernels: a machine that offers AVX-512 runs the AVX2 ones.
avx512_runs_avx2 = has_avx512 and all(
    by_kernels["AVX512"][kind] == by_kernels["AVX2"][kind] for kind in kinds
)
if has_avx512:
    print("on AVX-512, the same draws as the AVX2 kernels:", avx512_runs_avx2)
largest_difference, close = 0.0, 1e-5  # other kernels, but close numbers
rand_same = True
for kernels in ("AVX2",) * has_avx2:  # AVX-512's draws are AVX2's
    print(f"with the DEFAULT kernels instead of the {kernels} ones:")
    for kind in kinds:
        pairs = zip(by_kernels[kernels][kind], baseline[kind])
        differences = [abs(a - b) for a, b in pairs]
        differing = sum(difference > 0 for difference in differences)
        largest = f", the largest by {max(differences):.1e}" if differing else ""
        print(f"  {kind}: {differing} of {len(differences)} numbers differ{largest}")
        largest_difference = max(largest_difference, *differences)
    rand_same &= by_kernels[kernels]["rand"] == baseline["rand"]
# Each torch.rand number is a 24-bit random integer times 2**-24: exact in float32 on any kernels.
rand_is_bits = all((value * 2**24).is_integer() for value in here["rand"] + baseline["rand"])

# The Linear layer scales each uniform draw x from [0, 1) into its range, x * (to - from) + from,
# in float32, and torch.rand gives the same x. In float64 the product is exact, so rounding once
# at the end gives a fused multiply-add, and rounding the product to float32 first rounds twice.
torch.manual_seed(0)
x = torch.rand(64 * 300).double()
to = torch.tensor(1 / math.sqrt(300)).double()  # the bound in float32; from = -to
fused = (x * 2 * to - to).float().tolist()
rounded_twice = ((x * 2 * to).float().double() - to).float().tolist()
one_rounding = has_avx2 and by_kernels["AVX2"]["linear"] == fused
if has_avx2:
    print(f"Linear weights, AVX2 kernels: one rounding {one_rounding}; ", end="")
print(f"DEFAULT kernels: two roundings {baseline['linear'] == rounded_twice}")
two_roundings = baseline["linear"] == rounded_twice and rounded_twice != fused

assert all(draws["kernels"] == kernels for kernels, draws in by_kernels.items())  # as asked
assert rerun["kernels"] == here["kernels"]
assert same_kernels_same_draws  # witness: same-kernels-same-draws
assert rand_is_bits
# Checked on x86 CPUs that offer the kernels named, whatever ATEN_CPU_CAPABILITY this process was
# started with; elsewhere the page does not say what happens (it shows which kernels ran).
if x86:
    assert two_roundings  # witness: baseline-rounds-twice
if has_avx2:
    assert rand_same  # witness: rand-same-on-baseline-kernels
    assert largest_difference < close  # witness: other-kernels-close
    assert one_rounding  # witness: fused-multiply-add
if has_avx512:
    assert avx512_runs_avx2  # witness: avx512-runs-avx2

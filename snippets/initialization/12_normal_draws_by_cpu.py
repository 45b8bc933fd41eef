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


def in_a_new_process(**environment: str) -> dict:
    """seed_zero_draws() in a new Python process, as a rerun or another machine would make them."""
    function = inspect.getsource(seed_zero_draws)
    imports = "import json, torch\nfrom torch import nn\n"
    code = f"{imports}{function}\nprint(json.dumps(seed_zero_draws()))"
    run = [sys.executable, "-c", code]
    done = subprocess.run(run, env={**os.environ, **environment}, capture_output=True, text=True)
    done.check_returncode()
    return json.loads(done.stdout)


here = seed_zero_draws()
rerun = in_a_new_process()  # the kernels PyTorch picks for this CPU, as here
baseline = in_a_new_process(ATEN_CPU_CAPABILITY="default")  # PyTorch's baseline kernels
kinds = ("linear", "normal", "rand")
same_kernels_same_draws = all(here[kind] == rerun[kind] for kind in kinds)
print(f"kernels: {here['kernels']} here, {rerun['kernels']} in the rerun")
print("same weights, normal and rand draws, bit for bit:", same_kernels_same_draws)
# These draws have no AVX-512 kernels: a machine that offers AVX-512 runs the AVX2 ones.
avx2 = here if here["kernels"] == "AVX2" else None
if here["kernels"] == "AVX512":
    avx2 = in_a_new_process(ATEN_CPU_CAPABILITY="avx2")
avx512_runs_avx2 = here["kernels"] != "AVX512" or all(here[k] == avx2[k] for k in kinds)
if here["kernels"] == "AVX512":
    print("on AVX-512, the same draws as the AVX2 kernels:", avx512_runs_avx2)
print(f"with the {baseline['kernels']} kernels instead:")
largest_difference, close = 0.0, 1e-5  # other kernels, but close numbers
for kind in kinds:
    differences = [abs(a - b) for a, b in zip(here[kind], baseline[kind])]
    differing = sum(difference > 0 for difference in differences)
    largest = f", the largest by {max(differences):.1e}" if differing else ""
    print(f"  {kind}: {differing} of {len(differences)} numbers differ{largest}")
    largest_difference = max(largest_difference, *differences)

# The Linear layer scales each uniform draw x from [0, 1) into its range, x * (to - from) + from,
# in float32, and torch.rand gives the same x. In float64 the product is exact, so rounding once
# at the end gives a fused multiply-add, and rounding the product to float32 first rounds twice.
torch.manual_seed(0)
x = torch.rand(64 * 300).double()
to = torch.tensor(1 / math.sqrt(300)).double()  # the bound in float32; from = -to
fused = (x * 2 * to - to).float().tolist()
rounded_twice = ((x * 2 * to).float().double() - to).float().tolist()
if avx2 is not None:
    print(f"Linear weights, AVX2 kernels: one rounding {avx2['linear'] == fused}; ", end="")
print(f"{baseline['kernels']} kernels: two roundings {baseline['linear'] == rounded_twice}")
two_roundings = baseline["linear"] == rounded_twice and rounded_twice != fused
x86 = platform.machine().lower() in ("x86_64", "amd64")

assert baseline["kernels"] == "DEFAULT"
assert rerun["kernels"] == here["kernels"]
assert same_kernels_same_draws  # witness: same-kernels-same-draws
assert here["rand"] == baseline["rand"]  # witness: rand-same-on-baseline-kernels
assert largest_difference < close  # witness: other-kernels-close
assert avx512_runs_avx2  # witness: avx512-runs-avx2
assert avx2 is None or avx2["linear"] == fused  # witness: fused-multiply-add
assert not x86 or two_roundings  # witness: baseline-rounds-twice

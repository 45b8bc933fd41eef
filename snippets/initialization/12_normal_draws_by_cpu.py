"""Normal draws depend on the CPU kernels PyTorch runs (AVX2 or others); uniform draws do not."""
# guide: timeout=60

import inspect
import json
import os
import subprocess
import sys

import torch


def seed_zero_draws() -> dict:
    """1000 and 15 normal draws and 1000 uniform draws from seed 0, and the kernels used."""
    torch.manual_seed(0)
    normal = torch.empty(1000).normal_()
    torch.manual_seed(0)
    few = torch.empty(15).normal_()
    torch.manual_seed(0)
    uniform = torch.empty(1000).uniform_()
    lists = {"normal": normal.tolist(), "few": few.tolist(), "uniform": uniform.tolist()}
    return {"capability": torch.backends.cpu.get_cpu_capability(), **lists}


def draws_with_kernels(capability: str) -> dict:
    """seed_zero_draws() in a new Python process whose PyTorch uses the kernels named (a CPU
    without them gets the best it has: the result says which)."""
    function = inspect.getsource(seed_zero_draws)
    code = f"import json, torch\n{function}\nprint(json.dumps(seed_zero_draws()))"
    environment = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )
    done.check_returncode()
    return json.loads(done.stdout)


avx2, baseline = draws_with_kernels("avx2"), draws_with_kernels("default")
print(
    f"kernels asked for: AVX2 and baseline; got: {avx2['capability']} and {baseline['capability']}"
)
same = {kind: avx2[kind] == baseline[kind] for kind in ("normal", "few", "uniform")}
print("1000 normal draws, same seed, equal to the last bit:", same["normal"])
print("15 normal draws, same seed, equal to the last bit:", same["few"])
print("1000 uniform draws, same seed, equal to the last bit:", same["uniform"])

# The AVX2 kernels have a normal sampler of their own for 16 numbers or more (their own log, sine
# and cosine); the others (AVX-512 among them) share the baseline's, built on the C library's.
on_avx2 = avx2["capability"] == "AVX2"  # False only on a CPU without AVX2 (an ARM one)
assert baseline["capability"] == "DEFAULT"
assert not on_avx2 or (not same["normal"] and same["few"])  # witness: normal-depends-on-kernels
assert same["uniform"]  # witness: uniform-does-not

"""Why bitwise reproducibility stops at the machine: floating-point addition depends on order."""
# guide: timeout=30

import inspect
import json
import os
import platform
import subprocess
import sys

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# Three float32 numbers, added in two orders. 1e8 + 1 rounds back to 1e8 in float32.
big, one = torch.tensor(1e8), torch.tensor(1.0)
big_first = ((big + one) - big).item()
one_last = ((big - big) + one).item()
print(f"(1e8 + 1) - 1e8 = {big_first:g}, but (1e8 - 1e8) + 1 = {one_last:g}")

# The same effect in a sum of 2**20 numbers (uniform in [-1, 1)), split into blocks two ways.
# Both ways are written with elementwise additions, each one rounded on its own.
torch.manual_seed(0)
draws = torch.rand(2**20)
x = draws * 2 - 1
numbers_summed = x.numel()
# No step rounds: each draw is a whole multiple of 2**-24, and doubling and shifting it is exact.
on_grid = torch.equal(draws.double() * 2**24, (draws.double() * 2**24).round())
exact_shift = torch.equal(x.double(), draws.double() * 2 - 1)


def add_halves(values: torch.Tensor) -> torch.Tensor:
    """Add the second half onto the first until one number is left: a tree of pairs."""
    while values.numel() > 1:
        half = values.numel() // 2
        values = values[:half] + values[half:]
    return values[0]


in_pairs = add_halves(x)
rows = x.view(1024, 1024)
running = rows[0].clone()
for row in rows[1:]:  # block by block: 1024 running totals, one row added at a time
    running += row
row_by_row = add_halves(running)
in_kernel = x.sum()  # PyTorch's reduction kernel picks its own blocks
reference = x.double().sum()
threads = torch.get_num_threads()  # how many threads the kernel may split the sum between
print(f"pairs, then pairs of pairs: {in_pairs.item():.6f}")
print(f"row by row, then in pairs:  {row_by_row.item():.6f}")
print(f"x.sum():                    {in_kernel.item():.6f} (threads: {threads})")
print(f"in float64:                 {reference.item():.6f}")

# The same x in a new process that uses PyTorch's baseline CPU kernels. It takes a new process:
# PyTorch picks its CPU kernels once per process, and this one has used them. PyTorch takes
# ATEN_CPU_CAPABILITY at its word, so the new process asks only for kernels this CPU has.


def on_these_kernels(x: torch.Tensor) -> dict:
    """This process's CPU kernels, x.sum(), and what seed 0 draws: x again, and other draws."""
    from fractions import Fraction  # exact arithmetic, to tell one rounding from two

    torch.manual_seed(0)
    same_x = torch.equal(torch.rand(2**20) * 2 - 1, x)
    # Float64 uniform draws: from [0, 1), scaled by 0.3, scaled by 0.2 and shifted by -0.1, and a
    # layer's weights (scaled and shifted the same way); float32 normal draws.
    to_draw = {
        "unit": lambda: torch.empty(1000, dtype=torch.float64).uniform_(0, 1),
        "scaled": lambda: torch.empty(1000, dtype=torch.float64).uniform_(0, 0.3),
        "shifted": lambda: torch.empty(1000, dtype=torch.float64).uniform_(-0.1, 0.1),
        "weights": lambda: torch.nn.Linear(100, 10, dtype=torch.float64).weight,
        "normal32": lambda: torch.randn(1000),
    }
    drawn = {}
    for name, draw in to_draw.items():
        torch.manual_seed(0)
        drawn[name] = draw().tolist()
    rounded = {}  # u * (high - low) + low: rounded once (fused), or after each operation?
    for name, low, high in (("scaled", 0, 0.3), ("shifted", -0.1, 0.1)):
        span = high - low
        once = [float(Fraction(u) * Fraction(span) + Fraction(low)) for u in drawn["unit"]]
        twice = [u * span + low for u in drawn["unit"]]
        rounded[name] = "once" if drawn[name] == once else "twice" if drawn[name] == twice else "?"
    kernels = torch.backends.cpu.get_cpu_capability()
    return {
        "kernels": kernels,
        "sum": x.sum().item(),
        "same_x": same_x,
        "drawn": drawn,
        "rounded": rounded,
    }


def in_a_new_process(x: torch.Tensor, kernels: str) -> dict:
    """on_these_kernels(x) in a new Python process that uses the CPU kernels `kernels`."""
    read_x = "x = torch.frombuffer(bytearray(sys.stdin.buffer.read()), dtype=torch.float32)"
    call = "print(json.dumps(on_these_kernels(x)))"
    code = f"import json, sys, torch\n{inspect.getsource(on_these_kernels)}\n{read_x}\n{call}"
    environment = {**os.environ, "ATEN_CPU_CAPABILITY": kernels, "OMP_NUM_THREADS": str(threads)}
    run = [sys.executable, "-c", code]
    done = subprocess.run(run, input=x.numpy().tobytes(), env=environment, capture_output=True)
    done.check_returncode()
    return json.loads(done.stdout)


here = on_these_kernels(x)
# The checks below are for x86 CPUs, where this process uses AVX2 or AVX-512 kernels. Elsewhere
# the snippet compares this process with itself, and checks nothing.
on_x86 = platform.machine().lower() in ("x86_64", "amd64")
two_sets = on_x86 and here["kernels"] != "DEFAULT"
there = in_a_new_process(x, "default") if two_sets else here
same_sum = there["sum"] == here["sum"]
same_draws = there["same_x"]
same = {name: there["drawn"][name] == here["drawn"][name] for name in here["drawn"]}
normal_here, normal_there = (torch.tensor(d["drawn"]["normal32"]) for d in (here, there))
normal32_gap = (normal_there - normal_here).abs().max().item()  # the largest difference
if two_sets:
    print(
        f"x.sum() with {there['kernels']} kernels: {there['sum']:.6f}, "
        f"bitwise the sum with the {here['kernels']} kernels: {same_sum}"
    )
    print(f"drawn with {there['kernels']} kernels: the same x: {same_draws}")
    print(f"  the same float64 draws: scaled {same['scaled']}, weights {same['weights']}")
    print(f"  the same float32 normal draws: {same['normal32']}, largest gap: {normal32_gap:.1e}")
    kinds = f"{here['kernels']}/{there['kernels']}"
    rounded = {
        name: f"{here['rounded'][name]}/{there['rounded'][name]}" for name in ("scaled", "shifted")
    }
    print(f"  rounded, {kinds}: scaled {rounded['scaled']}, shifted {rounded['shifted']}")
else:
    print("not checked: this process uses the baseline kernels already, or the CPU is not x86")

# The thread count sets blocks too. With two threads, each thread sums one half of x.
half = x.numel() // 2
try:
    torch.set_num_threads(1)
    halves = x[:half].sum() + x[half:].sum()  # each half summed by one thread, then the totals
    torch.set_num_threads(2)
    two_threads = x.sum()
    other_threads = 1 if threads != 1 else 2  # a thread count other than this process's
    torch.set_num_threads(other_threads)
    torch.manual_seed(0)
    redrawn = torch.rand(2**20) * 2 - 1  # the same draws, made with another thread count
finally:
    torch.set_num_threads(threads)
print(
    f"x.sum() with 2 threads:     {two_threads.item():.6f}, "
    f"bitwise the sum of its halves' sums: {torch.equal(two_threads, halves)}"
)

# The same sum on the accelerator (if any) uses its own reduction order.
on_device = x.to(device).sum().cpu()
close_to_cpu = torch.allclose(on_device, in_kernel, rtol=1e-5, atol=1e-2)
if device.type != "cpu":
    print(
        f"sum on {device.type}: {on_device.item():.6f}, "
        f"bitwise equal to the CPU sum: {torch.equal(on_device, in_kernel)}"
    )

assert big_first == 0.0 and one_last == 1.0  # witness: order-matters
assert not torch.equal(in_pairs, row_by_row)  # witness: blocks-change-digits
assert torch.equal(two_threads, halves)  # witness: threads-split-sum
assert torch.equal(redrawn, x) and other_threads != threads  # witness: draws-ignore-threads
fused_here = here["rounded"] == {"scaled": "once", "shifted": "once"}
twice_there = there["rounded"] == {"scaled": "once", "shifted": "twice"}
if two_sets:  # an x86 CPU, this process on its AVX2 or AVX-512 kernels, the other on the baseline
    assert same_sum  # witness: sum-ignores-kernels
    assert same_draws  # witness: draws-ignore-kernels
    assert same["scaled"] and not same["weights"]  # witness: float64-shift-differs
    assert not same["normal32"] and normal32_gap < 1e-5  # witness: float32-normal-differs
    assert fused_here and twice_there  # witness: fused-shift
assert on_grid and exact_shift  # witness: draws-exact
assert all(
    torch.allclose(total.double(), reference, atol=1e-2)
    for total in (in_pairs, row_by_row, in_kernel, two_threads)
)
assert close_to_cpu and torch.get_num_threads() == threads

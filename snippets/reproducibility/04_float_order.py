"""Why bitwise reproducibility stops at the machine: floating-point addition depends on order."""
# guide: timeout=30

import os
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

# The same x summed in a new process that uses other CPU kernels: the baseline ones, or, if this
# process runs on those, the AVX2 ones. It takes a new process because PyTorch picks its CPU
# kernels once per process, and this one has used them. The new process also draws x again, and
# ten float64 normal draws with a mean other than 0.
kernels = torch.backends.cpu.get_cpu_capability()  # the CPU kernels PyTorch picked at start-up
other = "avx2" if kernels == "DEFAULT" else "default"
child = (
    f"import sys, torch; torch.set_num_threads({threads}); "
    "x = torch.frombuffer(bytearray(sys.stdin.buffer.read()), dtype=torch.float32); "
    "torch.manual_seed(0); same_x = torch.equal(torch.rand(2**20) * 2 - 1, x); "
    "torch.manual_seed(0); normal = torch.empty(10, dtype=torch.float64).normal_(0.1, 0.02); "
    "print(torch.backends.cpu.get_cpu_capability(), x.sum().item().hex(), same_x, "
    "','.join(value.hex() for value in normal.tolist()))"
)
environment = {**os.environ, "ATEN_CPU_CAPABILITY": other}
done = subprocess.run(
    [sys.executable, "-c", child], input=x.numpy().tobytes(), env=environment, capture_output=True
)
other_kernels, other_hex, other_x, other_normal = done.stdout.decode().split()
other_sum = float.fromhex(other_hex)
two_sets = other_kernels == other.upper() != kernels  # False where the CPU has one kernel set
same_sum = other_sum == in_kernel.item()
same_draws = other_x == "True"
torch.manual_seed(0)
normal = torch.empty(10, dtype=torch.float64).normal_(0.1, 0.02)
same_normals = [float.fromhex(value) for value in other_normal.split(",")] == normal.tolist()
print(
    f"x.sum() with {other_kernels} kernels: {other_sum:.6f}, "
    f"bitwise the sum with the {kernels} kernels: {same_sum}"
)
print(f"drawn with {other_kernels} kernels: the same x: {same_draws}, same normals: {same_normals}")

# The thread count sets blocks too. With two threads, each thread sums one half of x.
half = x.numel() // 2
try:
    torch.set_num_threads(1)
    halves = x[:half].sum() + x[half:].sum()  # each half summed by one thread, then the totals
    torch.set_num_threads(2)
    two_threads = x.sum()
    torch.manual_seed(0)
    redrawn = torch.rand(2**20) * 2 - 1  # the same draws, made with two threads
finally:
    torch.set_num_threads(threads)
print(
    f"x.sum() with 2 threads:     {two_threads.item():.6f}, "
    f"bitwise the sum of its halves' sums: {torch.equal(two_threads, halves)}"
)

# The same sum on the accelerator (if any) uses its own reduction order.
on_device = x.to(device).sum().cpu()
close_to_cpu = torch.allclose(on_device, in_kernel, rtol=1e-5, atol=1e-2)
print(
    f"sum on {device.type}: {on_device.item():.6f}, "
    f"bitwise equal to the CPU sum: {torch.equal(on_device, in_kernel)}"
)

assert big_first == 0.0 and one_last == 1.0  # witness: order-matters
assert not torch.equal(in_pairs, row_by_row)  # witness: blocks-change-digits
assert torch.equal(two_threads, halves)  # witness: threads-split-sum
assert torch.equal(redrawn, x)  # witness: draws-ignore-threads
assert same_sum or not two_sets  # witness: sum-ignores-kernels
assert same_draws or not two_sets  # witness: draws-ignore-kernels
assert not same_normals or not two_sets  # witness: float64-normals-differ
assert on_grid and exact_shift  # witness: draws-exact
assert all(
    torch.allclose(total.double(), reference, atol=1e-2)
    for total in (in_pairs, row_by_row, in_kernel, two_threads)
)
assert close_to_cpu and torch.get_num_threads() == threads

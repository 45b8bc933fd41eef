"""What TF32 does to a float32 product, and how its settings behave where they cannot be undone."""
# guide: timeout=60

import os
import subprocess
import sys

import torch

torch.manual_seed(0)  # the same product as 08_numerics.py on this machine (randn's draws
# depend on the CPU's kernels: initialization/12_normal_draws_by_cpu.py)
a, b = torch.randn(32, 64), torch.randn(64, 32)
terms_per_entry = a.shape[1]  # each entry of a @ b sums this many products
product = a @ b
# 25_tolerances.py's change of order: each entry's 64 rounded products, added one by one both ways.
terms = a[:, :, None] * b  # terms[i, k, j] = a[i, k] * b[k, j]
reordering = (sum(reversed(terms.unbind(1))) - sum(terms.unbind(1))).abs().max().item()


# TF32 keeps 10 of float32's 23 mantissa bits. A model of it on the CPU: round the inputs so.
def to_tf32(t: torch.Tensor, nearest: bool = True) -> torch.Tensor:
    bits = t.view(torch.int32) + (0x1000 if nearest else 0)  # nearest (ties away from 0), or cut
    return (bits & ~0x1FFF).view(torch.float32)  # clear the low 13 bits


def tf32_change(a: torch.Tensor, b: torch.Tensor, nearest: bool = True) -> torch.Tensor:
    """How far each entry of a @ b moves when the inputs are rounded to TF32."""
    return (to_tf32(a, nearest) @ to_tf32(b, nearest) - a @ b).abs()


change, size = tf32_change(a, b), product.abs()
tf32_difference = change.max().item()
tf32_relative = tf32_difference / size.max().item()
print(f"inputs rounded to TF32: largest difference {tf32_difference:.1e},", end=" ")
print(f"{tf32_relative:.0e} of the largest entry;", end=" ")
print(f"each entry's 64 products summed both ways differ by up to {reordering:.1e}")
moved_most = change.argmax()  # flat index of the entry that moves the most
entry_moved_most = product.flatten()[moved_most].item()
percent_moved = 100 * tf32_difference / abs(entry_moved_most)
print(f"the largest change falls on the entry {entry_moved_most:.2f}: {percent_moved:.1f}% of it")
smaller = size < size.median()  # the entries below the median size (511 of 1024)
small_half, large_half = ((change / size)[half].median().item() for half in (smaller, ~smaller))
half_ratio = small_half / large_half
print(f"median change relative to size: smaller entries {small_half:.0e}, larger", end=" ")
print(f"{large_half:.0e} ({half_ratio:.1f} times)")
third_digit, entries = int((change / size > 1e-3).sum()), product.numel()
second_digit = int((change / size > 1e-2).sum())
print(f"entries changed by more than 1e-3, 1e-2 of their size: {third_digit}, {second_digit}")
truncated = tf32_change(a, b, nearest=False)
truncated_relative = truncated.max().item() / size.max().item()
truncated_third_digit = int((truncated / size > 1e-3).sum())
print(f"inputs truncated instead: {truncated_relative:.0e}, {truncated_third_digit} entries")
size_growth, count_growth = [], []  # what truncation does to both, for six random inputs
for seed in range(6):
    torch.manual_seed(seed)
    x, y = torch.randn(32, 64), torch.randn(64, 32)
    near, cut, size_xy = tf32_change(x, y), tf32_change(x, y, nearest=False), (x @ y).abs()
    size_growth.append((cut.max() / near.max()).item())
    count_growth.append(((cut / size_xy > 1e-3).sum() / (near / size_xy > 1e-3).sum()).item())
size_low, size_high = min(size_growth), max(size_growth)
count_low, count_high = min(count_growth), max(count_growth)
print(f"truncating instead, seeds 0 to 5: the largest change grows {size_low:.1f} to", end=" ")
print(f"{size_high:.1f} times, the count {count_low:.1f} to {count_high:.1f} times")
# Where TF32 is forced on, 08_numerics.py allows its product an error of 1e-2 against float64.
exact = a.double() @ b.double()
model_error = {
    cut: ((to_tf32(a, nearest).double() @ to_tf32(b, nearest).double()) - exact).abs().max().item()
    for cut, nearest in (("rounded", True), ("truncated", False))
}
rounded_error, truncated_error = model_error["rounded"], model_error["truncated"]
print(f"the product's largest error against float64, inputs rounded: {rounded_error:.1e},", end=" ")
print(f"truncated: {truncated_error:.1e}")

# The convolutions' default ("tf32", not set by you) gives way to a level set above it since
# torch 2.13 (torch 2.11 still read "tf32": pytorch/pytorch#179445).
backends = torch.backends
backends.fp32_precision = "ieee"
conv_under_ieee = backends.cudnn.conv.fp32_precision
backends.fp32_precision = "none"
print("torch.backends.fp32_precision = 'ieee': convolutions read", repr(conv_under_ieee))
backends.fp32_precision = "bf16"  # accepted by the widest level; CUDA has no such mode
cuda_levels = backends.cudnn, backends.cuda.matmul, backends.cudnn.conv, backends.cudnn.rnn
under_bf16 = [level.fp32_precision for level in cuda_levels]
backends.fp32_precision = "none"
legacy_default = backends.cudnn.allow_tf32  # the older cuDNN boolean: True unless a script set it
backends.fp32_precision = "bf16"
try:  # the older boolean asks whether convolutions and RNNs use TF32, as their kernels do
    legacy_under_bf16 = backends.cudnn.allow_tf32
except RuntimeError:  # they do not, which disagrees with the boolean's True
    legacy_under_bf16 = "raises"
backends.cudnn.fp32_precision = "tf32"  # a CUDA level set: the levels below it read it, not "none"
below_set_level = [level.fp32_precision for level in cuda_levels[1:]]
try:
    legacy_below_set_level = backends.cudnn.allow_tf32
except RuntimeError:
    legacy_below_set_level = "raises"
backends.cudnn.fp32_precision = "none"
backends.fp32_precision = "none"
cuda_bf16 = set()  # what setting a CUDA level itself to "bf16" gives
for level in cuda_levels:
    try:
        level.fp32_precision = "bf16"
        cuda_bf16.add("accepted")
    except RuntimeError:
        cuda_bf16.add("refused")
print("torch.backends.fp32_precision = 'bf16': CUDA, matrix products, convolutions, RNNs", end=" ")
print("read", *under_bf16, "| each of them set to 'bf16':", *cuda_bf16)
print(f"torch.backends.cudnn.allow_tf32: {legacy_default} by default, under 'bf16' it", end=" ")
print(legacy_under_bf16)
print("  and torch.backends.cudnn.fp32_precision = 'tf32': the levels below read", end=" ")
print(*below_set_level, "| torch.backends.cudnn.allow_tf32:", legacy_below_set_level)
if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1":  # it sets the matrix-product level
    del under_bf16[1]  # keep the levels that are surely not set

# The older settings, without the override, in a child process (their effects cannot be undone):
# the legacy setter allows TF32, then the string forbids it. A cudnn.flags() block reads the legacy
# boolean and the CUDA level on entering, sets them, and writes back what it read on leaving.
legacy_code = """import torch
b = torch.backends

def read_boolean():
    try:
        b.cudnn.allow_tf32
    except RuntimeError:
        return "raises"
    return "runs"

def enter_flags(**settings):
    try:
        with b.cudnn.flags(enabled=True, **settings):
            pass
    except RuntimeError:
        return "raises"
    return "runs"

torch.set_float32_matmul_precision("high")
b.cuda.matmul.fp32_precision = "ieee"
try:
    print(b.cuda.matmul.fp32_precision, torch.get_float32_matmul_precision())
except RuntimeError:
    print(b.cuda.matmul.fp32_precision, "raises")
b.cuda.matmul.fp32_precision = "none"  # inherits again
b.fp32_precision = "ieee"
print(b.cudnn.conv.fp32_precision, enter_flags())
b.fp32_precision = "none"
enter_flags(allow_tf32=False)  # entered with no level set
b.fp32_precision = "ieee"
print(b.cudnn.conv.fp32_precision)
b.cudnn.fp32_precision = "none"  # not set, whatever the blocks above wrote back
b.fp32_precision = "tf32"
enter_flags()  # entered while the widest level reads "tf32"
b.fp32_precision = "ieee"
print(b.cudnn.fp32_precision, b.cuda.matmul.fp32_precision)
b.fp32_precision = b.cudnn.fp32_precision = "none"  # no level above the operations set
b.cudnn.allow_tf32 = b.cuda.matmul.allow_tf32 = False  # how older scripts turn TF32 off
print(b.cudnn.conv.fp32_precision, b.cuda.matmul.fp32_precision)
b.fp32_precision = "tf32"  # a level above, set after the booleans
print(b.cudnn.conv.fp32_precision, b.cuda.matmul.fp32_precision, read_boolean())
b.cudnn.allow_tf32 = False  # the boolean again, now set after the "tf32" above
print(b.cudnn.conv.fp32_precision, read_boolean())
b.cudnn.conv.fp32_precision = "ieee"  # the convolution level itself
b.fp32_precision = "tf32"  # and the level above set again afterwards
print(b.cudnn.conv.fp32_precision, b.fp32_precision)"""


def printed_by_fresh_process(code: str, env: dict[str, str]) -> str:
    """What `code` prints in a new Python process: settings made there start from the defaults."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


no_override = {k: v for k, v in os.environ.items() if k != "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"}
legacy_printed = printed_by_fresh_process(legacy_code, no_override)
# The convolutions' default, lost in another child process: write back what they read under "bf16".
lost_code = """import torch
b = torch.backends
b.fp32_precision = "bf16"
b.cudnn.conv.fp32_precision = b.cudnn.conv.fp32_precision  # writes back the "none" it reads
b.fp32_precision = "none"
print(b.cudnn.conv.fp32_precision)  # the default "tf32" again, or "none"?
b.cudnn.allow_tf32 = True  # the older boolean writes "tf32" to the convolution level
b.fp32_precision = "ieee"
print(b.cudnn.conv.fp32_precision)  # does that "tf32" give way?"""
conv_written_back, conv_boolean_under_ieee = printed_by_fresh_process(
    lost_code, no_override
).split()
print("convolutions' 'none' under 'bf16' written back: they read", repr(conv_written_back), end="")
print(f"; after cudnn.allow_tf32 = True, under 'ieee' above: {conv_boolean_under_ieee!r}")
legacy_string, legacy_getter, conv_under_top_ieee, flags_under_ieee, *rest = legacy_printed.split()
conv_after_flags, cuda_after_flags, matmul_after_flags, *booleans_off = rest
print("no override, set_float32_matmul_precision('high'), then the string 'ieee':", end=" ")
print(f"the string reads {legacy_string!r}, the getter {legacy_getter!r}")
print("torch.backends.fp32_precision = 'ieee': convolutions read", end=" ")
print(f"{conv_under_top_ieee!r}, and entering a cudnn.flags() block {flags_under_ieee}")
print("after a cudnn.flags() block, torch.backends.fp32_precision = 'ieee':", end=" ")
print(f"convolutions read {conv_after_flags!r}")
print("the same, with the block entered under torch.backends.fp32_precision = 'tf32':", end=" ")
print(f"CUDA reads {cuda_after_flags!r}, matrix products {matmul_after_flags!r}")
conv_off, matmul_off, conv_then, matmul_then, legacy_read, *rest = booleans_off
conv_after, legacy_read_after, conv_set, top = rest
print("both older booleans set to False:", end=" ")
print(f"convolutions read {conv_off!r}, matrix products {matmul_off!r};")
print("  then torch.backends.fp32_precision = 'tf32':", end=" ")
print(f"they read {conv_then!r} and {matmul_then!r}, and reading the cuDNN boolean {legacy_read}")
print("  the cuDNN boolean set to False again under that 'tf32':", end=" ")
print(f"convolutions read {conv_after!r}, and reading the boolean {legacy_read_after}")
print("  the convolution level set to 'ieee' itself, then 'tf32' above again:", end=" ")
print(f"{conv_set!r} under {top!r}")

# TORCH_ALLOW_TF32_CUBLAS_OVERRIDE is read when torch is imported, and the convolution level's
# default cannot be written back: both in a child process. Each line it prints is a step's name,
# then what the four levels read, or what the step gave.
child_code = """import torch
b = torch.backends
levels = b, b.cudnn, b.cuda.matmul, b.cudnn.conv  # widest first

def show(step):
    print(step, *(level.fp32_precision for level in levels))

def outcome(action):
    try:
        action()
    except RuntimeError:
        return "raises"
    return "runs"

show("at-start")
print("conv-default", outcome(lambda: setattr(b.cudnn.conv, "fp32_precision", "default")))
b.fp32_precision = b.cudnn.fp32_precision = "ieee"  # the two levels above matrix products
show("above-ieee")
b.fp32_precision = b.cudnn.fp32_precision = "none"
b.cuda.matmul.fp32_precision = "ieee"
show("matmul-ieee")
print("getter", torch.get_float32_matmul_precision())
print("allow_tf32", outcome(lambda: b.cuda.matmul.allow_tf32))
b.cudnn.conv.fp32_precision = "none"
show("conv-none")
b.fp32_precision = "tf32"
show("top-tf32")
b.cudnn.fp32_precision = b.cudnn.fp32_precision  # writes back the "tf32" it reads from above
b.fp32_precision = "ieee"
show("written-back")
with b.cudnn.flags():  # every argument at its default
    print("flags-enabled", b.cudnn.enabled)
b.cudnn.deterministic = True
with b.cudnn.flags(enabled=True):
    inside = b.cudnn.deterministic
print("flags-deterministic", True, inside, b.cudnn.deterministic)"""
child_printed = printed_by_fresh_process(
    child_code, {**os.environ, "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}
)
print("in a child process with the override set (levels widest first):")
in_child = {}
for line in child_printed.splitlines():
    step, *values = line.split()
    in_child[step] = values
    print(f"  {step:<13}", *values)

assert tf32_difference > 100 * reordering and tf32_relative > 1e-4  # witness: tf32-much-larger
assert moved_most != size.argmax()  # witness: largest-change-elsewhere
assert size_low > 1 and count_low > 1  # witness: truncation-larger
assert truncated_error > 1e-2 > rounded_error  # witness: tf32-tolerance-narrow
assert small_half > large_half  # witness: smaller-change-more
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
if release >= (2, 13):  # not reached on an older torch, where the default does not give way
    assert conv_under_ieee == "ieee"  # witness: conv-default-gives-way
    assert conv_after_flags == "tf32"  # witness: flags-set-conv
    raises_on_entry = conv_under_top_ieee == "ieee" and flags_under_ieee == "raises"
    assert raises_on_entry  # witness: flags-raise-under-ieee
    assert set(under_bf16) == {"none"} and cuda_bf16 == {"refused"}  # witness: bf16-reads-none
    bf16_no_tf32 = legacy_default is True and legacy_under_bf16 == "raises"
    assert bf16_no_tf32  # witness: bf16-turns-tf32-off
    set_level_wins = set(below_set_level) == {"tf32"} and legacy_below_set_level is True
    assert set_level_wins  # witness: bf16-below-a-set-level
    assert conv_written_back == "none"  # witness: bf16-write-back-loses-default
    assert conv_boolean_under_ieee == "tf32"  # witness: boolean-does-not-restore-default
assert (cuda_after_flags, matmul_after_flags) == ("tf32", "tf32")  # witness: flags-pin-cuda
assert (legacy_string, legacy_getter) == ("ieee", "high")  # witness: getter-silent-without-override
assert booleans_off[:4] == ["none", "ieee", "tf32", "ieee"]  # witness: legacy-false-asymmetric
under_tf32 = conv_after == "tf32" and legacy_read == legacy_read_after == "raises"
assert under_tf32  # witness: legacy-false-under-tf32
assert (conv_set, top) == ("ieee", "tf32")  # witness: conv-set-itself-holds
start = in_child["at-start"]
assert start[2] == "tf32"  # witness: override-turns-tf32-on
assert start[:2] == ["none", "none"]  # witness: override-leaves-levels-above
assert in_child["above-ieee"][2] == "tf32"  # witness: override-sets-the-level
getter_silent = in_child["getter"] == ["high"] and in_child["allow_tf32"] == ["raises"]
assert in_child["matmul-ieee"][2] == "ieee" and getter_silent  # witness: override-getter-silent
conv = [in_child[step][3] for step in ("at-start", "conv-none", "top-tf32")]
assert conv == ["tf32", "none", "tf32"]  # witness: conv-none-is-final
assert in_child["conv-default"] == ["raises"]  # witness: default-refused
assert in_child["written-back"][1] == "tf32"  # witness: written-back-stays
assert in_child["flags-enabled"] == ["False"]  # witness: flags-turn-cudnn-off
reset_and_restored = in_child["flags-deterministic"] == ["True", "False", "True"]
assert reset_and_restored  # witness: flags-reset-deterministic

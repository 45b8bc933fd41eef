"""Exercise: a context manager that forbids TF32 on CUDA in a block, whatever was set before, and
leaves the settings as it found them, defaults included."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
backends = torch.backends
LEVELS = {  # widest first: each level inherits from one listed before it
    "every backend": backends,
    "CUDA": backends.cudnn,
    "matrix products": backends.cuda.matmul,
    "convolutions": backends.cudnn.conv,
    "RNNs": backends.cudnn.rnn,
}


def readings() -> tuple[str, ...]:
    """What the levels read, widest first."""
    return tuple(level.fp32_precision for level in LEVELS.values())


@contextmanager
def no_tf32() -> Iterator[list[str]]:
    """Forbid TF32 on CUDA inside the block; write back only the levels it set."""
    saved = {}
    for name, level in LEVELS.items():  # widest first, so a level reads what is above it
        if level.fp32_precision != "ieee":  # neither inherits "ieee" nor is set to it
            saved[name] = level.fp32_precision  # its own value, or "none" for the widest level
            level.fp32_precision = "ieee"
    try:
        yield list(saved)
    finally:
        for name, value in reversed(saved.items()):
            LEVELS[name].fp32_precision = value


print("levels:", ", ".join(LEVELS))
before = readings()
with no_tf32() as changed:
    inside = readings()
after = readings()
backends.fp32_precision = "ieee"  # does the convolutions' default still give way?
conv_still_gives_way = backends.cudnn.conv.fp32_precision
backends.fp32_precision = "none"
print("before:", *before, "| inside:", *inside, "| after:", *after)
print("no_tf32() set:", ", ".join(changed), end=" | ")
print("top level 'ieee' again: convolutions read", repr(conv_still_gives_way))

torch.set_float32_matmul_precision("high")  # a call common in training scripts: sets a level
onednn_matmul = backends.mkldnn.matmul.fp32_precision  # oneDNN's (CPU, XPU): not in LEVELS
high_before = readings()
with no_tf32() as high_changed:
    high_inside = readings()
high_after = readings()
print("after torch.set_float32_matmul_precision('high'):")
print("before:", *high_before, "| inside:", *high_inside, "| after:", *high_after)
print("no_tf32() set:", ", ".join(high_changed), end=" | ")
print("oneDNN matrix products read", repr(onednn_matmul))

with no_tf32():  # a cudnn.flags() block reads the legacy boolean, which disagrees with "ieee"
    try:
        with backends.cudnn.flags(enabled=True):
            flags_inside = "runs"
    except RuntimeError:
        flags_inside = "raises"
print("entering a cudnn.flags() block inside no_tf32():", flags_inside)

release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
all_ieee = set(inside) == set(high_inside) == {"ieee"}
assert all_ieee and high_before[2] == "tf32"  # witness: forbidden-inside
assert after == before and high_after == high_before  # witness: restored
if release >= (2, 13):  # the convolution default gives way from torch 2.13 on
    assert conv_still_gives_way == "ieee"  # witness: default-kept
    if "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE" not in os.environ:  # the NGC containers set it
        assert changed == ["every backend"]  # witness: widest-only
    assert high_changed == ["every backend", "matrix products"]  # witness: set-level-too
    assert flags_inside == "raises"  # witness: flags-raise-inside
assert onednn_matmul == "tf32"  # witness: high-sets-onednn

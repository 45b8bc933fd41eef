"""Exercise: a context manager that forbids TF32 on CUDA in a block, whatever was set before, and
leaves the settings as it found them, defaults included."""

import multiprocessing
import os
from collections.abc import Callable, Iterator
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


onednn = backends.mkldnn, backends.mkldnn.matmul  # oneDNN's levels (CPU, XPU): not in LEVELS


def read_legacy(read: Callable[[], object]) -> object:
    """An older setting's value, or "raises" where reading it disagrees with the strings."""
    try:
        return read()
    except RuntimeError:  # "mix of the legacy and new APIs"
        return "raises"


def every_setting() -> tuple:
    """The levels, all of oneDNN's, and the older getter and booleans: to check at the end."""
    onednn_all = *onednn, backends.mkldnn.conv, backends.mkldnn.rnn
    legacy = (
        torch.get_float32_matmul_precision,
        lambda: backends.cuda.matmul.allow_tf32,
        lambda: backends.cudnn.allow_tf32,
    )
    older = (read_legacy(read) for read in legacy)
    return *readings(), *(level.fp32_precision for level in onednn_all), *older


def in_a_copy(experiment: Callable[[], tuple]) -> tuple:
    """Run `experiment` in a copy of this process (forked, for Linux) and return its result, so
    that the settings it changes, which the older APIs change for good, change in the copy only."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    copy = context.Process(target=lambda: sender.send(experiment()))
    copy.start()
    sender.close()  # so that receiving fails, rather than waits, if the copy ends without sending
    result = receiver.recv()
    copy.join()
    return result


at_start = every_setting()
print("levels:", ", ".join(LEVELS))
before = readings()
with no_tf32() as changed:
    inside = readings()
after = readings()
top_level = backends.fp32_precision  # set back after each experiment below
backends.fp32_precision = "ieee"  # does the convolutions' default still give way?
conv_still_gives_way = backends.cudnn.conv.fp32_precision
backends.fp32_precision = top_level
print("before:", *before, "| inside:", *inside, "| after:", *after)
print("no_tf32() set:", ", ".join(changed), end=" | ")
print("top level 'ieee' again: convolutions read", repr(conv_still_gives_way))


def after_high() -> tuple:
    """In a copy: a call common in training scripts sets a level; what no_tf32() does then."""
    torch.set_float32_matmul_precision("high")
    onednn_after, high_before = [level.fp32_precision for level in onednn], readings()
    with no_tf32() as high_changed:
        high_inside, onednn_inside = readings(), backends.mkldnn.matmul.fp32_precision
    return onednn_after, high_before, high_inside, readings(), high_changed, onednn_inside


onednn_before = [level.fp32_precision for level in onednn]
high_run = in_a_copy(after_high)
onednn_after, high_before, high_inside, high_after, high_changed, onednn_inside = high_run
print("after torch.set_float32_matmul_precision('high'):")
print("before:", *high_before, "| inside:", *high_inside, "| after:", *high_after)
print("no_tf32() set:", ", ".join(high_changed))
print("oneDNN, all and matrix products: before the call", *onednn_before, end=" | ")
print("after it", *onednn_after, "| inside no_tf32()", onednn_inside)
backends.fp32_precision = "bf16"  # a oneDNN (CPU) mode
with no_tf32():
    onednn_bf16 = backends.mkldnn.fp32_precision
backends.fp32_precision = top_level
print("under 'bf16', inside no_tf32() oneDNN reads", repr(onednn_bf16))


def enter_flags() -> tuple[str, str]:
    """Enter and leave a cudnn.flags() block inside no_tf32(); what convolutions read in it."""
    with no_tf32():
        try:
            with backends.cudnn.flags(enabled=True):  # reads the older cuDNN boolean on entering
                return "runs", backends.cudnn.conv.fp32_precision
        except RuntimeError:
            return "raises", "-"


def after_legacy_false() -> tuple[str, str, str]:
    """In a copy: the same block after a line of older scripts; what CUDA reads once it is left."""
    backends.cudnn.allow_tf32 = False
    return *enter_flags(), backends.cudnn.fp32_precision


legacy_default = backends.cudnn.allow_tf32
flags_inside, _ = enter_flags()  # the boolean's True disagrees with the convolutions' "ieee"
print(f"cudnn.allow_tf32 {legacy_default}: a cudnn.flags() block entered inside no_tf32()", end=" ")
print(flags_inside)
cuda_before_legacy = backends.cudnn.fp32_precision
flags_after_legacy, conv_in_flags, cuda_after_legacy = in_a_copy(after_legacy_false)
print(f"cudnn.allow_tf32 False: the block {flags_after_legacy}, convolutions read", end=" ")
print(f"{conv_in_flags!r} in it, and afterwards CUDA reads {cuda_after_legacy!r}", end=" ")
print("instead of", repr(cuda_before_legacy))
left_as_found = every_setting() == at_start
print("every setting here, the older getter and booleans included, as at the start:", end=" ")
print(left_as_found)

all_ieee = set(inside) == set(high_inside) == {"ieee"}
assert all_ieee and high_before[2] == "tf32"  # witness: forbidden-inside
assert after == before and high_after == high_before  # witness: restored
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
if release >= (2, 13):  # the convolution default gives way from torch 2.13 on
    assert conv_still_gives_way == "ieee"  # witness: default-kept
    if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") != "1":  # NGC containers set it to 1
        assert changed == ["every backend"]  # witness: widest-only
    assert high_changed == ["every backend", "matrix products"]  # witness: set-level-too
assert legacy_default is True and flags_inside == "raises"  # witness: flags-raise-inside
pinned_by_flags = (cuda_before_legacy, cuda_after_legacy) == ("none", "ieee")
assert flags_after_legacy == "runs" and pinned_by_flags  # witness: flags-pin-after-legacy
assert conv_in_flags == "tf32"  # witness: flags-allow-tf32-inside
assert onednn_bf16 == "ieee"  # witness: bf16-off-inside
matmul_only = onednn_before == ["none", "none"] and onednn_after == ["none", "tf32"]
assert matmul_only  # witness: high-sets-onednn
assert onednn_inside == "tf32"  # witness: onednn-left-alone
assert left_as_found  # witness: left-as-found

"""Exercise: a context manager that forbids TF32 in a block and leaves the settings as it found
them, defaults included."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
backends = torch.backends


def readings() -> tuple[str, str, str, str]:
    """What the levels read, widest first: every backend, CUDA, matrix products, convolutions."""
    levels = backends, backends.cudnn, backends.cuda.matmul, backends.cudnn.conv
    return tuple(level.fp32_precision for level in levels)


@contextmanager
def no_tf32() -> Iterator[None]:
    """Forbid TF32 everywhere inside the block; write back exactly the top level's old value."""
    saved = backends.fp32_precision  # "none" unless something set it
    backends.fp32_precision = "ieee"  # the widest level: the levels below that read "none" follow
    try:
        yield
    finally:
        backends.fp32_precision = saved


before = readings()
with no_tf32():
    inside = readings()
after = readings()
backends.fp32_precision = "ieee"  # does the convolutions' default still give way?
conv_still_gives_way = backends.cudnn.conv.fp32_precision
backends.fp32_precision = "none"
print("levels before:", *before)
print("inside no_tf32():", *inside)
print("after:", *after, "| top level 'ieee' again: convolutions read", repr(conv_still_gives_way))

release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
assert after == before  # witness: restored
if release >= (2, 13):  # the convolution default gives way from torch 2.13 on
    assert inside[3] == "ieee"  # witness: conv-forbidden-inside
    assert conv_still_gives_way == "ieee"  # witness: default-kept
if "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE" not in os.environ:  # the NGC containers set it
    assert inside[2] == "ieee"  # matrix products follow the top level where nothing else is set

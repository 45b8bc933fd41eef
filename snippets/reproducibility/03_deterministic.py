"""Deterministic mode: deterministic kernels where they exist, an error where they do not."""

import contextlib
import os
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

benchmark_default = torch.backends.cudnn.benchmark
fill_default = torch.utils.deterministic.fill_uninitialized_memory


@contextlib.contextmanager
def deterministic_mode(warn_only: bool = False):
    """Deterministic mode for one block, then the settings it found, even if the block raised."""
    found = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    # Do not let cuDNN time several algorithms and keep the fastest (False is the default).
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:  # runs however the block ends: put back what was there, not merely "off"
        torch.use_deterministic_algorithms(found[0], warn_only=found[1])
        torch.utils.deterministic.fill_uninitialized_memory = found[2]
        torch.backends.cudnn.benchmark = found[3]


def settings() -> tuple[bool, bool]:
    """Deterministic mode on?, and does it only warn?"""
    return (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )


at_start = settings()  # in a fresh process: (False, False)
unpool = nn.MaxUnpool1d(kernel_size=2)
values = torch.tensor([[[5.0, 7.0]]], device=device)
positions = torch.tensor([[[1, 2]]], device=device)  # where each value goes in the output

# 1. An operation with no deterministic implementation refuses to run; the error leaves the block.
refusal = "no error"
try:
    with deterministic_mode():
        print("deterministic algorithms:", torch.are_deterministic_algorithms_enabled())
        unpool(values, positions)
except RuntimeError as error:
    refusal = str(error)
    print(f"{type(error).__name__}: {refusal.split(', but')[0]}, but ...")
after_error = settings()
print("after the error left the block, (mode, warn_only):", after_error)

# Why the message names a 2-D kernel: the autograd graph of the output lists the steps it took.
node, steps = unpool(values.detach().requires_grad_(), positions).grad_fn, []
while node.next_functions:  # walk back from the output to the input
    steps.insert(0, type(node).__name__)
    node = node.next_functions[0][0]
print("MaxUnpool1d's steps:", steps)

with deterministic_mode():
    # 2. warn_only=True turns the error into a warning, for code you cannot change yet.
    with deterministic_mode(warn_only=True), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unpooled = unpool(values, positions)
    warned = any("does not have a deterministic implementation" in str(w.message) for w in caught)
    print("with warn_only=True it runs and warns:", unpooled.flatten().tolist(), warned)
    after_inner = settings()  # the outer block's settings again: errors, not warnings
    print("after the inner block, (mode, warn_only):", after_inner)

    # 3. Memory that torch.empty leaves uninitialized is filled: NaN for float16 to float64 (the
    #    real parts of complex numbers), the maximum for integers, True for bool; some dtypes the
    #    fill has no case for raise. fill_uninitialized_memory is the switch.
    empty_floats = torch.empty(3, device=device)
    empty_ints = torch.empty(2, dtype=torch.int32, device=device)
    empty_complex = torch.empty(2, dtype=torch.complex64, device=device)
    empty_bools = torch.empty(2, dtype=torch.bool, device=device)
    floats_are_nan = bool(empty_floats.isnan().all() and empty_complex.real.isnan().all()) and all(
        bool(torch.empty(2, dtype=dtype, device=device).isnan().all())
        for dtype in (torch.float16, torch.bfloat16, torch.float64)
    )
    ints_are_max = bool((empty_ints == torch.iinfo(torch.int32).max).all()) and all(
        bool((torch.empty(2, dtype=dtype, device=device) == torch.iinfo(dtype).max).all())
        for dtype in (torch.uint8, torch.int8, torch.int16, torch.int64)
    )
    print("torch.empty gives", empty_floats.tolist(), "and", empty_ints.tolist())
    print("  for complex64 and bool:", empty_complex.tolist(), empty_bools.tolist())
    unfilled_messages = {}  # int1-int7, uint1-uint7, float4_e2m1fn_x2, the bits dtypes (on the CPU)
    unfilled_dtypes = [
        getattr(torch, f"{kind}{bits}") for kind in ("int", "uint") for bits in range(1, 8)
    ]
    unfilled_dtypes += [torch.float4_e2m1fn_x2, torch.bits1x8, torch.bits2x4, torch.bits4x2]
    unfilled_dtypes += [torch.bits8, torch.bits16]  # the fill has no case for these either
    for dtype in unfilled_dtypes:
        try:
            torch.empty(2, dtype=dtype)
            unfilled_messages[dtype] = ""
        except NotImplementedError as error:
            unfilled_messages[dtype] = str(error)
    float4_message = unfilled_messages[torch.float4_e2m1fn_x2]
    print("  for float4_e2m1fn_x2, NotImplementedError:", float4_message)
    torch.utils.deterministic.fill_uninitialized_memory = False
    unfilled_are_nan = bool(torch.empty(1000, device=device).isnan().all())
    torch.utils.deterministic.fill_uninitialized_memory = fill_default
    print(
        "with fill_uninitialized_memory = False, 1000 floats from torch.empty all NaN:",
        unfilled_are_nan,
    )

    # 4. Accumulating into repeated indices. The CPU kernel adds in a fixed order whatever the
    #    mode; on a GPU the default kernel adds in a varying order, and this mode replaces it.
    torch.manual_seed(0)
    source = torch.randn(10_000)
    index = torch.randint(0, 10, (10_000,))
    cpu_in_mode = torch.zeros(10).index_add_(0, index, source)
    first = torch.zeros(10, device=device).index_add_(0, index.to(device), source.to(device))
    second = torch.zeros(10, device=device).index_add_(0, index.to(device), source.to(device))
    bitwise_equal = torch.equal(first, second)
    print(f"index_add_ twice on {device.type} gives bitwise equal results:", bitwise_equal)

    # A matrix product (cuBLAS on CUDA) with CUBLAS_WORKSPACE_CONFIG unset; old releases refused.
    workspace_config = os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    try:
        ones = torch.ones(2, 2, device=device)
        product_ran = torch.equal((ones @ ones).cpu(), torch.full((2, 2), 2.0))
    finally:
        if workspace_config is not None:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = workspace_config
    if device.type == "cuda":  # cuBLAS runs on CUDA only
        print("cuBLAS matrix product, no CUBLAS_WORKSPACE_CONFIG:", product_ran)

# With the mode off, the CPU kernel gives the same bits as in the mode, run after run.
cpu_default = [torch.zeros(10).index_add_(0, index, source) for run in range(5)]
cpu_kernel_unchanged = all(torch.equal(result, cpu_in_mode) for result in cpu_default)
print("on the CPU, the mode off gives the same bits, five runs out of five:", cpu_kernel_unchanged)

assert benchmark_default is False  # witness: benchmark-off-by-default
assert "does not have a deterministic implementation" in refusal  # witness: refuses
assert steps[:2] == ["UnsqueezeBackward0", "MaxUnpool2DBackward0"]  # witness: unpool-runs-2d
assert warned and unpooled.flatten().tolist() == [0.0, 5.0, 7.0, 0.0]  # witness: warn-only
assert floats_are_nan and ints_are_max and empty_bools.all()  # witness: empty-filled
not_filled = '"fill_empty_deterministic_" not implemented'
unfilled_refused = all(message.startswith(not_filled) for message in unfilled_messages.values())
assert unfilled_refused  # witness: no-fill-raises
assert fill_default is True and not unfilled_are_nan  # witness: fill-switch
assert cpu_kernel_unchanged  # witness: cpu-index-add-repeatable
if device.type == "cuda":
    assert bitwise_equal  # witness: index-add-repeats
    assert product_ran  # witness: cublas-no-config
assert after_error == at_start  # witness: restored-after-error
assert after_inner == (True, False)  # witness: restores-previous
after_outer = settings() == at_start and torch.backends.cudnn.benchmark is benchmark_default
assert after_outer  # witness: outer-restores

"""Pinned memory and non_blocking copies: what runs while the copy runs, and when to synchronize."""

import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
batch = torch.randn(4, 3)

# Pinning copies a CPU tensor into page-locked memory, which only an accelerator's driver provides.
try:
    pin_outcome = f"pinned: {batch.pin_memory().is_pinned()}"
except RuntimeError as error:
    pin_outcome = f"{type(error).__name__}: {error}"
print("batch.pin_memory() ->", pin_outcome)

# To the CPU, from the CPU, non_blocking has nothing to overlap with.
same_tensor = batch.to("cpu", non_blocking=True) is batch  # already there: no copy at all
copied = torch.empty_like(batch)
copied.copy_(batch, non_blocking=True)
copy_done_on_return = torch.equal(copied, batch)  # read at once, without synchronizing
print("CPU to CPU, non_blocking=True: same tensor", same_tensor, "| copy done", copy_done_on_return)

# DataLoader(pin_memory=True) pins each batch on CUDA (and ROCm), not on a machine without one.
dataset = TensorDataset(torch.randn(8, 3))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    (first,) = next(iter(DataLoader(dataset, batch_size=4, pin_memory=True)))
loader_warnings = [str(w.message) for w in caught]
print("DataLoader(pin_memory=True): batch pinned", first.is_pinned(), "| warnings:")
for message in loader_warnings:
    print("   ", message)

if device.type == "cuda":
    n = 1 << 24  # 16M floats, 64 MB
    busy = torch.randn(4096, 4096, device=device)

    def keep_busy() -> None:  # queues tens of milliseconds of work
        for _ in range(20):
            torch.tanh(busy @ busy)

    # Host to device, from pinned memory, behind a queue of other work.
    expected = (torch.arange(n) % 1000).float() * 0.5 + 1.0
    source = expected.pin_memory()  # pinned before the GPU gets busy
    pinning_again_is_no_copy = source.pin_memory() is source  # already pinned: itself
    keep_busy()
    on_gpu = source.to(device, non_blocking=True)  # queued behind keep_busy(); returns at once
    copied_event = torch.cuda.Event()
    copied_event.record()  # queued after the copy on the same stream
    returned_before_copy = not copied_event.query()  # the copy has not run, nor read `source`
    doubled = on_gpu * 2  # queued after the copy on the same stream: runs after it
    copied_event.synchronize()  # wait before writing into `source`: the copy reads it
    source.zero_()  # safe now, and without effect on the copy
    host_to_device_right = torch.equal(doubled.cpu(), expected * 2)
    print("host to device from pinned memory: .to() returned before the copy ran:", end=" ")
    print(returned_before_copy, "| a kernel queued after it saw the values:", host_to_device_right)

    # Device to host: a large result, freshly computed behind a queue of other work.
    keep_busy()
    fresh = (torch.arange(n, device=device) % 1000).float() * 0.5 + 1.0
    host = fresh.to("cpu", non_blocking=True)  # returns before the copy has run
    # Reading `host` here would be a race: it may still hold whatever its memory held before.
    copied_event = torch.cuda.Event()
    copied_event.record()  # queued after the copy on the same stream
    copied_event.synchronize()  # wait for it (torch.cuda.synchronize() waits for everything)
    device_to_host_right = torch.equal(host, expected)
    keep_busy()
    blocking_right = torch.equal((fresh + 0).cpu(), expected)  # without the flag, .cpu() waits
    print("device to host into pinned memory:", host.is_pinned(), end=" | ")
    print("values right after the event:", device_to_host_right)
elif device.type == "mps":  # the DataLoader switches pinning off there, with a warning
    assert any("not supported on MPS" in m for m in loader_warnings) and not first.is_pinned()

assert same_tensor  # witness: cpu-to-cpu-no-copy
assert copy_done_on_return  # witness: cpu-copy-is-plain
if not torch.accelerator.is_available():
    warned = any(
        "pin_memory' argument is set as true but no accelerator" in m for m in loader_warnings
    )
    assert warned and not first.is_pinned()  # witness: loader-warns
    # a CPU-only build says it has no accelerator; a CUDA build without a GPU, that it finds none
    assert pin_outcome.startswith("RuntimeError")  # witness: pin-needs-accelerator
if device.type == "cuda":
    assert first.is_pinned()  # witness: loader-pins
    assert pinning_again_is_no_copy  # witness: pinned-returns-itself
    assert returned_before_copy  # witness: pinned-copy-returns-early
    assert returned_before_copy and host_to_device_right  # witness: stream-orders-copy
    assert host.is_pinned()  # witness: to-cpu-is-pinned
    assert device_to_host_right  # witness: synchronized-values-right
    assert blocking_right  # witness: plain-cpu-waits

"""A pinned buffer of your own: pin_memory=True in a factory function needs an accelerator too.
Between CPU tensors non_blocking=True changes nothing. On CUDA, behind queued work, a non-blocking
copy back to the CPU returns before it has even started."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

factories = {
    "torch.empty(4, 3, pin_memory=True)": lambda: torch.empty(4, 3, pin_memory=True),
    "torch.zeros(4, 3, pin_memory=True)": lambda: torch.zeros(4, 3, pin_memory=True),
    "torch.tensor([1.0], pin_memory=True)": lambda: torch.tensor([1.0], pin_memory=True),
}
outcomes = {}
for call, factory in factories.items():
    try:
        outcomes[call] = f"pinned: {factory().is_pinned()}"
    except RuntimeError as error:
        outcomes[call] = f"{type(error).__name__}: {error}".splitlines()[0]
    print(call, "->", outcomes[call])

# Where there may be no accelerator, ask for pinned memory only where it can be had.
buffer = torch.empty(4, 3, pin_memory=device.type == "cuda")
print("torch.empty(4, 3, pin_memory=device.type == 'cuda') is pinned:", buffer.is_pinned())

# Between CPU tensors non_blocking=True changes nothing, even for a copy of 64 MiB.
large = torch.arange(1 << 24, dtype=torch.float32)
large_mib = large.numel() * large.element_size() >> 20
to_cpu_is_itself = large.to("cpu", non_blocking=True) is large and large.to("cpu") is large
large_copy = torch.full_like(large, -1.0)  # no entry of `large` is -1: an unwritten one shows
large_copy.copy_(large, non_blocking=True)
last_entry_done = large_copy[-1].item() == large[-1].item()  # the end first, read at once
large_copy_done = last_entry_done and torch.equal(large_copy, large)  # without synchronizing
print("CPU to CPU: x.to('cpu') is x, with non_blocking=True or without:", to_cpu_is_itself, end=" ")
print(f"| {large_mib} MiB copy_(non_blocking=True) done on return:", large_copy_done)

if device.type == "cuda":
    pageable = torch.ones(3)
    pinning_copies = pageable.pin_memory().data_ptr() != pageable.data_ptr()
    print("pin_memory() gives a copy in new memory:", pinning_copies)
    fresh = torch.ones(1 << 22, device=device)
    fresh.to("cpu", non_blocking=True)  # once first: the pinned block it gets is cached for reuse
    torch.cuda.synchronize()
    busy = torch.randn(4096, 4096, device=device)
    for _ in range(20):  # queues tens of milliseconds of work
        torch.tanh(busy @ busy)
    work_done = torch.cuda.Event()
    work_done.record()  # queued after that work, so before the copy
    host = fresh.to("cpu", non_blocking=True)  # queued behind that work
    returned_before_copy = not work_done.query()  # the copy has not started: reading `host` races
    copied_event = torch.cuda.Event()
    copied_event.record()  # queued after the copy on the same stream
    (fresh + 1).cpu()  # without the flag
    queue_empty = torch.accelerator.current_stream().query()
    copied_event.synchronize()
    print("device to host, non_blocking=True: returned before the copy started", end=" ")
    print(returned_before_copy, "| values right after the event:", bool((host == 1).all()))
    print("a plain .cpu() then returned with the queue empty:", queue_empty)

assert to_cpu_is_itself  # witness: cpu-to-cpu-no-copy
assert large_copy_done  # witness: cpu-copy-is-plain
refused = all(outcome.startswith("RuntimeError") for outcome in outcomes.values())
if not torch.accelerator.is_available():
    assert refused  # witness: factory-pin-raises
if device.type == "cuda":
    assert all(o == "pinned: True" for o in outcomes.values()) and buffer.is_pinned()
    assert host.is_pinned() and returned_before_copy  # witness: to-cpu-returns-early
    assert returned_before_copy and queue_empty  # witness: plain-cpu-waits
    assert pinning_copies  # witness: pinning-copies

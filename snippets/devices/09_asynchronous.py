"""A GPU works through a queue: PyTorch returns at once, and reading a value waits for the work."""

import math
import time
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
on_cpu = device.type == "cpu"

# Forty large matrix products: tens of milliseconds of work for a GPU (smaller on the CPU).
size = 256 if on_cpu else 4096
torch.manual_seed(0)
weight = torch.randn(size, size, device=device) / math.sqrt(size)
start = torch.randn(size, size, device=device)


def forty_products(x: torch.Tensor) -> torch.Tensor:
    for _ in range(40):
        x = torch.tanh(x @ weight)
    return x


forty_products(start)  # the first call pays one-time costs: loading kernels, choosing algorithms
if not on_cpu:
    torch.accelerator.synchronize()  # wait until the queue is empty before timing

# Timed three times: "returned early" must hold in all three, so that one pause of a busy machine
# cannot make it look true.
early_each_time = []
for _ in range(3):
    started = time.perf_counter()
    result = forty_products(start)
    returned_after = time.perf_counter() - started
    if not on_cpu:  # the CPU has no queue to ask
        queue_empty_on_return = torch.accelerator.current_stream().query()
    mean = result.mean().item()  # copying a value to Python waits for the work it depends on
    finished_after = time.perf_counter() - started
    if not on_cpu:
        queue_empty_after_item = torch.accelerator.current_stream().query()
    early_each_time.append(returned_after < finished_after / 2)
returned_early = all(early_each_time)
print(f"returned before half of the time was spent: {returned_early}")
if not on_cpu:
    print(f"work still queued when forty_products returned: {not queue_empty_on_return}")
    print(f"work still queued after .item(): {not queue_empty_after_item}")


# Reading the loss with .item() at every step makes Python wait for the device at every step;
# adding it to a tensor on the device and reading that once at the end waits once.
def train(read_every_step: bool) -> float:
    torch.manual_seed(0)
    model = nn.Linear(64, 1, device=device)  # created on the device: no copy to wait for
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = torch.randn(10, 32, 64, device=device)  # 10 batches of 32 examples
    targets = torch.randn(10, 32, 1, device=device)
    losses, total = [], torch.zeros((), device=device)
    for x, t in zip(inputs, targets):
        loss = nn.functional.mse_loss(model(x), t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if read_every_step:
            losses.append(loss.item())
        else:
            total += loss.detach()
    return sum(losses) if read_every_step else total.item()


def waits_while(function, *args) -> tuple[object, int]:
    """Call `function` and count the synchronizing operations that CUDA's debug mode reports."""
    if device.type != "cuda":
        return function(*args), 0  # the debug mode exists for CUDA only
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            value = function(*args)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return value, sum("called a synchronizing" in str(w.message) for w in caught)


total_read_every_step, waits_every_step = waits_while(train, True)
total_read_once, waits_once = waits_while(train, False)
same_total = math.isclose(total_read_every_step, total_read_once, rel_tol=1e-5)
print(f"loss summed over 10 steps: {total_read_every_step:.4f} and {total_read_once:.4f}")
if device.type == "cuda":
    print(f"waits with .item() at every step: {waits_every_step}, reading once: {waits_once}")
    # Every read of values, and every result whose size depends on values, waits for the queue.
    probe = torch.arange(4.0).to(device)
    reads = {
        ".item()": lambda t: t[0].item(),
        ".tolist()": lambda t: t.tolist(),
        ".cpu()": lambda t: t.cpu(),
        "str(t), as print does": lambda t: str(t),
        "if t.sum() > 0, bool()": lambda t: bool(t.sum() > 0),
        "t.nonzero()": lambda t: t.nonzero(),
        "t[t > 1]": lambda t: t[t > 1],
    }
    waits_by_read = {name: waits_while(read, probe)[1] for name, read in reads.items()}
    print("waits reported:", ", ".join(f"{name} {n}" for name, n in waits_by_read.items()))

# A running sum of losses that are not detached is part of every step's graph.
w = torch.ones(3, device=device, requires_grad=True)
loss = (w * 2).sum()
sum_with_graph = torch.zeros((), device=device) + loss
sum_detached = torch.zeros((), device=device) + loss.detach()
print(
    "running sum keeps a graph:",
    sum_with_graph.grad_fn is not None,
    "| with detach():",
    sum_detached.grad_fn is not None,
)

assert same_total and math.isfinite(mean)  # witness: same-losses
if on_cpu:
    assert not returned_early  # witness: cpu-has-no-queue
else:
    assert not queue_empty_on_return and returned_early  # witness: returns-while-queued
    assert queue_empty_after_item  # witness: item-waits
if device.type == "cuda":
    assert waits_every_step >= 10 > waits_once >= 1  # witness: waits-per-step
    assert all(n >= 1 for n in waits_by_read.values())  # witness: reads-wait
assert sum_with_graph.grad_fn is not None and sum_detached.grad_fn is None  # witness: detach

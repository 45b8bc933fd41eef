"""Exercise: a linear layer whose weights can never become negative, however it is trained."""

import math
import sys
import threading
from pathlib import Path

import torch
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
smallest_start = 1e-3  # the inverse of softplus is defined for positive values only


class NonNegative(nn.Module):
    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return F.softplus(X)  # log(1 + e^X): never negative, and 0 only for very negative X

    def right_inverse(self, W: torch.Tensor) -> torch.Tensor:
        W = W.abs().clamp_min(smallest_start)  # start from |W|: softplus gives no negative values
        return W + torch.log(-torch.expm1(-W))  # the inverse of softplus, written to stay accurate


class CountingNonNegative(NonNegative):
    """NonNegative, counting how often its right_inverse runs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def right_inverse(self, W: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().right_inverse(W)


def train(layer: nn.Linear, steps: int = 100) -> nn.Linear:
    """Fit target = x @ [-1, -2, 0.5, 1]: two of the best weights are negative."""
    torch.manual_seed(1)
    x = torch.randn(64, 4).to(device)
    target = x @ torch.tensor([-1.0, -2.0, 0.5, 1.0], device=device)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.2)
    for _ in range(steps):
        loss = (layer(x).squeeze(-1) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return layer


torch.manual_seed(0)
free = train(nn.Linear(4, 1).to(device))
torch.manual_seed(0)
layer = nn.Linear(4, 1).to(device)
start = layer.weight.detach().clone()
nonnegative = CountingNonNegative()
parametrize.register_parametrization(layer, "weight", nonnegative)
# right_inverse ran once, at registration: the weight now starts from |W|.
calls_at_registration = nonnegative.calls
registered_from_abs = torch.allclose(layer.weight, start.abs().clamp_min(smallest_start), atol=1e-6)
train(layer)

smallest_free = free.weight.min().item()
smallest_weight = layer.weight.min().item()
print("unconstrained weights:", [round(w, 2) for w in free.weight.squeeze(0).tolist()])
print("non-negative weights: ", [float(f"{w:.2g}") for w in layer.weight.squeeze(0).tolist()])
print(
    f"smallest weight: {smallest_free:.2f} unconstrained, "
    f"{smallest_weight:.4f} with the parametrization"
)

# With right_inverse, assigning to layer.weight works: the parametrization stores the
# inverse of 0.5.
with torch.no_grad():
    layer.weight = torch.full((1, 4), 0.5, device=device)
calls_after_assigning = nonnegative.calls  # one more call for the assignment
stored = layer.parametrizations.weight.original[0, 0].item()
assign_works = torch.allclose(layer.weight, torch.full((1, 4), 0.5, device=device))
print(f"after assigning 0.5: weight {layer.weight[0, 0].item():.4f}, stored original {stored:.4f}")

# An assigned value reads back as max(|W|, smallest_start): right_inverse stores softplus^-1 of
# that. So a negative value and anything below smallest_start change, even 0.0005, which softplus
# can produce (softplus(log(expm1(0.0005))) = 0.0005).
assigned = [-0.5, 0.0, 0.0005, 0.5, 2.0]
with torch.no_grad():
    layer.weight = torch.tensor([assigned], device=device)
read_back = [round(w, 4) for w in layer.weight[0].tolist()]
assigned_negative, read_back_negative = assigned[0], read_back[0]
assigned_small, read_back_small = assigned[2], read_back[2]
small_is_softplus_output = math.isclose(
    F.softplus(torch.tensor(math.log(math.expm1(assigned_small)))).item(),
    assigned_small,
    rel_tol=1e-4,
)
read_back_clamped = torch.allclose(
    layer.weight, torch.tensor([assigned], device=device).abs().clamp_min(smallest_start), atol=1e-5
)
print(f"after assigning {assigned}: weight {read_back}")


# At registration only the first parametrization of a tensor stores what right_inverse returns.
# A second one, stacked on top, leaves the stored tensor as it is and applies its forward to the
# weight so far. Its right_inverse still runs once, but only to check what it returns.
torch.manual_seed(0)
stacked = nn.Linear(4, 1).to(device)
parametrize.register_parametrization(stacked, "weight", NonNegative())
stored_before = stacked.parametrizations.weight.original.detach().clone()
weight_before = stacked.weight.detach().clone()
second = CountingNonNegative()
parametrize.register_parametrization(stacked, "weight", second)
stored_kept = torch.equal(stacked.parametrizations.weight.original, stored_before)
forward_stacked = torch.allclose(stacked.weight, F.softplus(weight_before))
print(
    f"second NonNegative: stored tensor unchanged {stored_kept}, "
    f"weight = softplus(previous weight) {forward_stacked}, "
    f"its right_inverse ran {second.calls} time"
)
second_calls_at_registration = second.calls
# On assignment every right_inverse runs, and the result is stored. One turns 0.5 into -0.4328,
# the other's abs() makes that positive: the weight reads back as softplus(0.4328), not 0.5.
half = torch.full((1, 4), 0.5, device=device)
with torch.no_grad():
    stacked.weight = half
chained = NonNegative().right_inverse(NonNegative().right_inverse(half))
stored_chained = torch.allclose(stacked.parametrizations.weight.original, chained)
stacked_read_back = round(stacked.weight[0, 0].item(), 2)
softplus_of_abs = torch.allclose(stacked.weight, F.softplus(torch.full_like(half, abs(stored))))
print(f"stacked, after assigning 0.5: weight {stacked_read_back}")
wrong_shape = nn.Identity()
wrong_shape.right_inverse = lambda W: W.T  # the wrong shape
try:
    parametrize.register_parametrization(stacked, "weight", wrong_shape)
except ValueError as error:
    shape_message = str(error)

# exp would also keep weights positive, but its gradient is the weight itself; softplus's is
# sigmoid(X), which never exceeds 1.
t = torch.linspace(-20, 20, 81, requires_grad=True)
exp_grad_is_weight = torch.equal(torch.autograd.grad(t.exp().sum(), t)[0], t.exp())
softplus_grad_max = torch.autograd.grad(F.softplus(t).sum(), t)[0].max().item()

# Softplus is positive in exact arithmetic, but its value, about e^X for very negative X, rounds
# to 0 once it is below the smallest positive number of the dtype: X below about log of that.
# The probes run on the CPU, which keeps subnormals by default; MPS computes softplus otherwise.
limits, gives_zero, margin = {}, {}, 2


def probe(limit: int, dtype: torch.dtype) -> torch.Tensor:
    """softplus at limit + margin and at limit - margin, 32 of each for vector kernels."""
    return F.softplus(torch.tensor([limit + margin, limit - margin], dtype=dtype).repeat(32))


def positive_then_zero(values: torch.Tensor, limit: int) -> bool:
    print(f"{values.dtype}: softplus({limit + margin}) = {values[0].item():.3g}, ", end="")
    print(f"softplus({limit - margin}) = {values[1].item()}")
    return bool((values[0::2] > 0).all() and (values[1::2] == 0).all())


for dtype in (torch.float32, torch.float16):
    info = torch.finfo(dtype)
    limits[dtype] = round(math.log(info.smallest_normal * info.eps))  # 2^-149 or 2^-24
    gives_zero[dtype] = positive_then_zero(probe(limits[dtype], dtype), limits[dtype])
# With float32 subnormals flushed to zero, zero starts near log of the smallest normal number.
# The flush mode belongs to the calling thread: an intra-op thread already running keeps its own.
# A thread started while flushing is on inherits it, and keeps it after it is turned off.
flush_limit = round(math.log(torch.finfo(torch.float32).smallest_normal))
below = torch.full((65536,), float(flush_limit - margin))  # large enough to split over 2 threads
threads = torch.get_num_threads()  # restored at the end
flushing_off = threading.Event()  # set once flushing is off again
later = {}  # what the new thread computes


def probe_once_flushing_is_off() -> None:
    flushing_off.wait()
    later["probe"] = probe(flush_limit, torch.float32)  # small: runs on this thread alone


torch.set_num_threads(2)
try:
    F.softplus(below)  # the second intra-op thread is running from here on, with flush off
    if torch.set_flush_denormal(True):  # False on a CPU that cannot flush them
        new_thread = threading.Thread(target=probe_once_flushing_is_off)
        try:
            flushed, split = probe(flush_limit, torch.float32), F.softplus(below)
            new_thread.start()  # started while flushing is on
        finally:
            torch.set_flush_denormal(False)
            flushing_off.set()
        new_thread.join()  # it ends here, leaving no flushing thread behind
        new_thread_probe = later["probe"]
        stopped_here = bool((probe(flush_limit, torch.float32) > 0).all())  # this thread
        control = threading.Thread(target=probe_once_flushing_is_off)  # started with it off
        control.start()
        control.join()
        control_keeps_subnormals = bool((later["probe"] > 0).all())  # so the mode is inherited
        # Read only now: with flush on, comparisons and .item() read subnormals as 0 as well.
        print("flushing subnormals: ", end="")
        assert positive_then_zero(flushed, flush_limit)  # witness: flushed-underflows-earlier
        split_zeros = int((split == 0).sum())
        print(f"{split.numel()} values split over 2 threads: {split_zeros} flushed to 0")
        on_linux = sys.platform == "linux"
        libgomp = on_linux and "libgomp" in Path("/proc/self/maps").read_text()
        if libgomp:
            assert 0 < split_zeros < split.numel()  # witness: flush-per-thread
        print("thread started while flushing, run after it is off: ", end="")
        still_flushing = positive_then_zero(new_thread_probe, flush_limit)
        inherits = still_flushing and stopped_here and control_keeps_subnormals
        if on_linux:
            assert inherits  # witness: new-thread-inherits
finally:
    torch.set_num_threads(threads)
float32_limit, float16_limit = limits[torch.float32], limits[torch.float16]
# Written as log(1 + e^X) without log1p, softplus is 0 once 1 + e^X rounds to 1: near log(eps / 2).
naive_limit = round(math.log(torch.finfo(torch.float32).eps / 2))
at_naive_limit = torch.tensor(float(naive_limit))
naive_gives_zero = torch.log(1 + torch.exp(at_naive_limit)).item() == 0.0
naive_gives_zero &= F.softplus(at_naive_limit).item() > 0

found = torch.tensor([-1.0, -2.0, 0.5, 1.0], device=free.weight.device)
assert torch.allclose(free.weight.squeeze(0), found, atol=0.01)  # witness: free-goes-negative
assert smallest_weight > 0  # witness: stays-positive
assert registered_from_abs and calls_at_registration == 1  # witness: right-inverse-at-registration
assert calls_after_assigning == 2 and nonnegative.calls == 3  # witness: right-inverse-on-assignment
assert assign_works  # witness: assign-works
assert read_back_clamped and small_is_softplus_output  # witness: read-back-clamped
assert read_back_small == smallest_start and read_back_negative == -assigned_negative
assert stored_kept and forward_stacked  # witness: stacked-keeps-stored
checked = second_calls_at_registration == 1 and "must have the same shape" in shape_message
assert checked  # witness: stacked-right-inverse-checks
assert stored_chained and second.calls == 2  # witness: stacked-assignment-chains
assert softplus_of_abs  # witness: stacked-abs-makes-positive
assert exp_grad_is_weight and softplus_grad_max <= 1  # witness: gradient-sizes
assert abs(stored - (-0.4328)) < 1e-4  # witness: stored-inverse
assert gives_zero[torch.float32] and gives_zero[torch.float16]  # witness: softplus-underflows
assert naive_gives_zero  # witness: naive-softplus-underflows

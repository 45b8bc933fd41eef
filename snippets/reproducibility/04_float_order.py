"""Why bitwise reproducibility stops at the device: floating-point addition depends on order."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# Three float32 numbers, added in two orders. 1e8 + 1 rounds back to 1e8 in float32.
big, one = torch.tensor(1e8), torch.tensor(1.0)
big_first = ((big + one) - big).item()
one_last = ((big - big) + one).item()
print(f"(1e8 + 1) - 1e8 = {big_first:g}, but (1e8 - 1e8) + 1 = {one_last:g}")

# The same effect in an ordinary sum: the order of the additions is an implementation detail.
torch.manual_seed(0)
x = torch.randn(1_000_000)
in_order = x.sum()
in_blocks = x.view(1000, 1000).sum(dim=0).sum()
reference = x.double().sum()
print(f"x.sum():                     {in_order.item():.6f}")
print(f"column sums, then their sum: {in_blocks.item():.6f}")
print(f"in float64:                  {reference.item():.6f}")

# The same sum on the accelerator (if any) uses its own reduction order.
on_device = x.to(device).sum().cpu()
close_to_cpu = torch.allclose(on_device, in_order, rtol=1e-5, atol=1e-2)
print(
    f"sum on {device.type}: {on_device.item():.6f}, "
    f"bitwise equal to the CPU sum: {torch.equal(on_device, in_order)}"
)

assert big_first == 0.0 and one_last == 1.0  # witness: order-matters
assert torch.allclose(in_order.double(), reference, atol=1e-2) and torch.allclose(
    in_blocks.double(), reference, atol=1e-2
)
assert close_to_cpu

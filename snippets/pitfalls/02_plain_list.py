"""Layers kept in a Python list are invisible to the module: the optimizer never sees them."""

import torch
from torch import nn


class ListStack(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.blocks = [nn.Linear(width, width) for _ in range(depth)]  # the mistake: a plain list

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = torch.relu(block(x))
        return x


class Stack(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))  # the fix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = torch.relu(block(x))
        return x


torch.manual_seed(0)
broken, fixed = ListStack(4, 2), Stack(4, 2)
broken_count = sum(p.numel() for p in broken.parameters())
fixed_count = sum(p.numel() for p in fixed.parameters())
print("parameter values with a list:", broken_count, " with nn.ModuleList:", fixed_count)

try:
    torch.optim.SGD(broken.parameters(), lr=0.1)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message}")

# With another layer the optimizer is satisfied, and the listed layers silently stay as they are.
model = nn.Sequential(nn.Linear(4, 4), broken)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
block_before = broken.blocks[0].weight.detach().clone()
model(torch.randn(8, 4)).pow(2).sum().backward()
optimizer.step()
block_has_grad = broken.blocks[0].weight.grad is not None
block_unchanged = torch.equal(broken.blocks[0].weight, block_before)
print("listed layer: gradient computed:", block_has_grad, " weights unchanged:", block_unchanged)

# The list hides its layers from every other walk over the module too.
broken.eval()
broken.to(torch.float64)
hidden = (
    broken.blocks[0].training
    and broken.blocks[0].weight.dtype == torch.float32
    and "Linear" not in repr(broken)
)
print("after eval() and to(float64), the listed layer is still training, in float32:", hidden)

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
try:  # on a GPU, the listed layers stay on the CPU
    nn.Sequential(nn.Linear(4, 4), ListStack(4, 2)).to(device)(torch.ones(1, 4, device=device))
    device_error = ""
except RuntimeError as error:
    device_error = str(error).splitlines()[0]

assert broken_count == 0 and fixed_count == 2 * (4 * 4 + 4) == 40  # witness: not-listed
assert message.startswith("optimizer got an empty parameter list")  # witness: optimizer-refuses
assert block_has_grad and block_unchanged  # witness: silently-untrained
assert len(fixed.state_dict()) == 4 and len(broken.state_dict()) == 0  # witness: not-saved
assert hidden  # witness: hidden-from-walks
if device.type == "cuda":
    assert "same device" in device_error  # witness: gpu-forward-fails
elif device.type == "cpu":
    assert device_error == ""  # witness: cpu-forward-runs

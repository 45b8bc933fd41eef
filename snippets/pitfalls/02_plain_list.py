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
print("parameters with a list:", broken_count, " with nn.ModuleList:", fixed_count)

try:
    torch.optim.SGD(broken.parameters(), lr=0.1)
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message}")

assert broken_count == 0 and fixed_count == 2 * (4 * 4 + 4) == 40
assert message.startswith("optimizer got an empty parameter list")
assert len(fixed.state_dict()) == 4 and len(broken.state_dict()) == 0

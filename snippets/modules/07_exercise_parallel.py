"""Exercise: a Parallel module runs two modules on the same input and concatenates their outputs."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Parallel(nn.Module):
    def __init__(self, left: nn.Module, right: nn.Module) -> None:
        super().__init__()
        self.left = left  # assigning a module registers it, so its parameters count as ours
        self.right = right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.left(x), self.right(x)], dim=-1)


torch.manual_seed(0)
model = Parallel(nn.Linear(8, 3), nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 5))).to(
    device
)
X = torch.randn(2, 8).to(device)
output_shape = tuple(model(X).shape)
parameter_count = sum(p.numel() for p in model.parameters())
print(model)
print("output shape:", output_shape, " parameters:", parameter_count)

assert output_shape == (2, 3 + 5)
assert parameter_count == (8 * 3 + 3) + (8 * 16 + 16) + (16 * 5 + 5) == 256

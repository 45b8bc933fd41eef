"""Exercise: two towers of three layers each, held in a ModuleList of ModuleLists."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TwoTowers(nn.Module):
    def __init__(self, width: int = 8, depth: int = 3) -> None:
        super().__init__()
        self.towers = nn.ModuleList(
            nn.ModuleList(nn.Linear(width, width) for _ in range(depth)) for _ in range(2)
        )

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        outputs = []
        for tower, x in zip(self.towers, (a, b)):
            for layer in tower:
                x = torch.relu(layer(x))
            outputs.append(x)
        return (outputs[0] * outputs[1]).sum(dim=-1)  # a similarity score per pair


torch.manual_seed(0)
model = TwoTowers().to(device)
a, b = torch.randn(2, 8).to(device), torch.randn(2, 8).to(device)
score_shape = tuple(model(a, b).shape)
keys = list(model.state_dict())
last_key = keys[-1]
parameter_count = sum(p.numel() for p in model.parameters())
layers = [layer for tower in model.towers for layer in tower]
layer_count = len(layers)
per_layer = sum(p.numel() for p in layers[0].parameters())
print("scores:", score_shape, " parameters:", parameter_count, " state_dict entries:", len(keys))
print("first and last keys:", keys[0], keys[-1])
print(f"{layer_count} layers of {per_layer} parameters each")

assert score_shape == (2,)
assert len(keys) == 12 and keys[0] == "towers.0.0.weight" and last_key == "towers.1.2.bias"
assert parameter_count == layer_count * per_layer == 2 * 3 * (8 * 8 + 8) == 432
assert (layer_count, per_layer) == (6, 72)

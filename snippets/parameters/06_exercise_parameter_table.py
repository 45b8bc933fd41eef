"""Exercise: a table of parameters per top-level submodule, all and trainable."""

import torch
from torch import nn


def parameter_table(model: nn.Module) -> list[tuple[str, int, int]]:
    """(child name, all parameters, trainable parameters) for each direct child, then the total."""
    rows = []
    for name, child in model.named_children():
        total = sum(p.numel() for p in child.parameters())
        trainable = sum(p.numel() for p in child.parameters() if p.requires_grad)
        rows.append((name, total, trainable))
    # Parameters registered on the model itself belong to no child: count them too.
    own = list(model.parameters(recurse=False))
    if own:
        rows.append(
            ("(own)", sum(p.numel() for p in own), sum(p.numel() for p in own if p.requires_grad))
        )
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return rows


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()
        )
        self.head = nn.Linear(8, 3)
        self.temperature = nn.Parameter(torch.ones(1))  # a parameter of the model itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)) / self.temperature


model = Classifier()
model.backbone.requires_grad_(False)
rows = parameter_table(model)
print(f"{'module':9} {'all':>5} {'trainable':>9}")
for name, total, trainable in rows:
    print(f"{name:9} {total:5} {trainable:9}")

_, total_all, total_trainable = rows[-1]
children_only = sum(p.numel() for _, child in model.named_children() for p in child.parameters())
print("summing over the children alone gives", children_only)

assert rows[:-1] == [("backbone", 128, 0), ("head", 27, 27), ("(own)", 1, 1)]
assert total_all == sum(p.numel() for p in model.parameters()) == 156
assert total_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad) == 28
assert children_only == total_all - model.temperature.numel()  # witness: children-miss-own

"""Exercise: a table of parameters per top-level submodule, all and trainable."""

import torch
from torch import nn


def count(parameters, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in parameters if p.requires_grad or not trainable_only)


def parameter_table(model: nn.Module) -> list[tuple[str, int, int]]:
    """(child name, all parameters, trainable parameters) for each direct child, then the total."""
    rows = []
    for name, child in model.named_children():
        rows.append((name, count(child.parameters()), count(child.parameters(), True)))
    # Parameters registered on the model itself belong to no child: show them too.
    own = list(model.parameters(recurse=False))
    if own:
        rows.append(("(own)", count(own), count(own, True)))
    # Rows can overlap (a tensor shared by two children appears in both), so the total is not
    # their sum: model.parameters() yields each tensor once.
    rows.append(("total", count(model.parameters()), count(model.parameters(), True)))
    return rows


def print_table(rows: list[tuple[str, int, int]]) -> None:
    print(f"{'module':9} {'all':>5} {'trainable':>9}")
    for name, total, trainable in rows:
        print(f"{name:9} {total:5} {trainable:9}")


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
print_table(rows)

_, total_all, total_trainable = rows[-1]
children_only = sum(p.numel() for _, child in model.named_children() for p in child.parameters())
print("summing over the children alone gives", children_only)


class TiedLanguageModel(nn.Module):
    """The output layer reuses the embedding's weight: one (10, 4) tensor under two names."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


tied = TiedLanguageModel()
tied_rows = parameter_table(tied)
print_table(tied_rows)
tied_row_sum = sum(row[1] for row in tied_rows[:-1])
tied_total = tied_rows[-1][1]
print("the rows add up to", tied_row_sum, "but the model has", tied_total, "parameters")


class AliasedBias(nn.Module):
    """Also registers the child's bias as a parameter of its own, under the name `shift`."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.shift = self.linear.bias


aliased_rows = parameter_table(AliasedBias())
print_table(aliased_rows)

assert rows[:-1] == [("backbone", 128, 0), ("head", 27, 27), ("(own)", 1, 1)]
assert total_all == sum(p.numel() for p in model.parameters()) == 156
assert total_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad) == 28
assert children_only == total_all - model.temperature.numel()  # witness: children-miss-own
tied_expected = [("embed", 40, 40), ("out", 40, 40), ("total", 40, 40)]
assert tied_rows == tied_expected  # witness: tied-in-both-rows
assert (tied_row_sum, tied_total) == (80, 40)
assert len(list(tied.parameters())) == 1 and tied_total == 40  # witness: shared-counted-once
assert aliased_rows == [("linear", 6, 6), ("(own)", 2, 2), ("total", 6, 6)]  # witness: own-alias

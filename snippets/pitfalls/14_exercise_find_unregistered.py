"""Exercise: find_unregistered() reports tensors and modules a model holds but does not register."""

import torch
from torch import nn


def find_unregistered(model: nn.Module) -> list[str]:
    """Attributes of `model` or its submodules that hold a trainable tensor or a module in
    a way that nn.Module does not see: a tensor with requires_grad, or a list, tuple or
    dict of modules."""
    problems = []
    for prefix, module in model.named_modules():
        # Registered parameters, buffers and submodules live in the private dicts _parameters,
        # _buffers and _modules; the public entries of vars(module) are the plain attributes.
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            where = f"{prefix}.{name}" if prefix else name
            if isinstance(value, torch.Tensor) and value.requires_grad:
                problems.append(f"{where}: a tensor with requires_grad; make it an nn.Parameter")
            items = value.values() if isinstance(value, dict) else value
            if isinstance(value, (list, tuple, dict)) and any(
                isinstance(v, nn.Module) for v in items
            ):
                kind = "nn.ModuleDict" if isinstance(value, dict) else "nn.ModuleList"
                problems.append(f"{where}: modules in a {type(value).__name__}; use {kind}")
    return problems


class Net(nn.Module):
    def __init__(self, registered: bool) -> None:
        super().__init__()
        blocks = [nn.Linear(4, 4) for _ in range(2)]
        temperature = torch.tensor(1.0, requires_grad=True)
        self.blocks = nn.ModuleList(blocks) if registered else blocks
        self.temperature = nn.Parameter(temperature) if registered else temperature
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = torch.relu(block(x))
        return self.head(x) / self.temperature


broken_report = find_unregistered(Net(registered=False))
fixed_report = find_unregistered(Net(registered=True))
print("broken Net:")
for problem in broken_report:
    print("  ", problem)
print("fixed Net:", fixed_report)
problems_found = len(broken_report)

# Why vars() works: a registered parameter lives in _parameters, not among the plain attributes.
linear = nn.Linear(4, 1)
public = sorted(name for name in vars(linear) if not name.startswith("_"))
print("public attributes of nn.Linear:", public, " parameters:", list(linear._parameters))

found_in = [problem.split(":")[0] for problem in broken_report]
assert found_in == ["blocks", "temperature"] and fixed_report == []  # witness: finds-both
assert problems_found == 2
assert "weight" not in public and "weight" in linear._parameters  # witness: private-dicts
assert broken_report[0].startswith("blocks: modules in a list")
assert broken_report[1].startswith("temperature: a tensor with requires_grad")

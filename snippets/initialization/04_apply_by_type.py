"""module.apply: one function, called on every submodule, that initializes by type."""

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


visited = []


def init_by_type(module: nn.Module) -> None:
    visited.append(type(module).__name__)
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


torch.manual_seed(0)
model = MLP()
returned = model.apply(init_by_type)  # returns the model itself, so it can be chained

visit_order = " -> ".join(visited)
linear_count = sum(name == "Linear" for name in visited)
print("apply visited:", visit_order)

# apply cannot tell the head from the body: both are nn.Linear. Treat a layer by its role
# by addressing it after apply. The head feeds no ReLU, so it gets Xavier's scheme instead.
nn.init.xavier_uniform_(model.head.weight)

biases_zero = all(
    torch.all(m.bias == 0).item() for m in model.modules() if isinstance(m, nn.Linear)
)
print("Linear layers initialized:", linear_count, " all biases zero:", biases_zero)
print(
    f"weight std: body.0 {model.body[0].weight.std().item():.3f}, "
    f"head {model.head.weight.std().item():.3f}"
)

# Built-in layers can redraw their own defaults; ReLU, Sequential and MLP have no such method.
model.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
defaults_restored = all(
    torch.any(m.bias != 0).item() for m in model.modules() if isinstance(m, nn.Linear)
)
print("after reset_parameters, biases are random again:", defaults_restored)

assert returned is model and defaults_restored
assert visit_order == "Linear -> ReLU -> Linear -> ReLU -> Sequential -> Linear -> MLP"
assert linear_count == 3 and biases_zero

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

# apply cannot tell the head from the body: both are nn.Linear. The head's input comes out of a
# ReLU, as body[2]'s does, so Kaiming's ReLU gain suits it just as well. Its role is what differs:
# its outputs are the logits, and with Kaiming weights they are as large as the hidden signal, so
# the untrained model makes confident, random predictions. Address the head after apply and draw it
# small, so that every class starts close to probability 1/3.
x = torch.randn(256, 16)
with torch.no_grad():
    hidden = model.body(x)  # the head's input
    kaiming_probabilities = model.head(hidden).softmax(dim=1)
    nn.init.normal_(model.head.weight, std=0.01)
    small_probabilities = model.head(hidden).softmax(dim=1)
head_input_from_relu = bool((hidden >= 0).all()) and bool((hidden == 0).any())
kaiming_spread = (kaiming_probabilities - 1 / 3).abs().max().item()
small_spread = (small_probabilities - 1 / 3).abs().max().item()

biases_zero = all(
    torch.all(m.bias == 0).item() for m in model.modules() if isinstance(m, nn.Linear)
)
print("Linear layers initialized:", linear_count, " all biases zero:", biases_zero)
print(
    f"weight std: body.0 {model.body[0].weight.std().item():.3f}, "
    f"head {model.head.weight.std().item():.3f}"
)
print(
    f"largest |probability - 1/3| at the start: {kaiming_spread:.2f} with a Kaiming head, "
    f"{small_spread:.2f} with a small head"
)

# Built-in layers can redraw their own defaults; ReLU, Sequential and MLP have no such method.
model.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
defaults_restored = all(
    torch.any(m.bias != 0).item() for m in model.modules() if isinstance(m, nn.Linear)
)
print("after reset_parameters, biases are random again:", defaults_restored)

assert returned is model  # witness: returns-model
assert defaults_restored
assert (
    visit_order == "Linear -> ReLU -> Linear -> ReLU -> Sequential -> Linear -> MLP"
)  # witness: order
assert linear_count == 3 and biases_zero
assert head_input_from_relu  # witness: head-input-from-relu
assert kaiming_spread > 0.3 and small_spread < 0.1  # witness: small-head-near-uniform

"""Exercise: a custom layer that can be built on the meta device and initialized after to_empty."""

import math

import numpy as np
import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class MyLinear(nn.Module):
    """Accepts device and dtype, and keeps its initialization in reset_parameters."""

    def __init__(self, in_features: int, out_features: int, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(
            torch.empty(out_features, in_features, device=device, dtype=dtype)
        )
        self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias


class InitInConstructor(nn.Module):
    """No reset_parameters: its values are written once, in __init__, and lost on the way
    through meta."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def build() -> nn.Sequential:
    return nn.Sequential(MyLinear(10, 8), nn.ReLU(), MyLinear(8, 3), InitInConstructor(3))


with torch.device("meta"):
    model = build()
    # The context sets only the default device: an explicit device, or a tensor made from NumPy
    # memory, escapes it.
    explicit = torch.ones(3, device="cpu")
    from_numpy = torch.from_numpy(np.ones(3))
count_on_meta = sum(p.numel() for p in model.parameters())
all_on_meta = all(p.is_meta for p in model.parameters())  # custom layers included
model.to_empty(device=device)
with torch.no_grad():  # mark every tensor, so that one nobody writes stays visible
    for p in model.parameters():
        p.fill_(float("nan"))
torch.manual_seed(0)
reset, skipped = [], []
for module in model.modules():
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        reset.append(type(module).__name__)
    elif list(module.parameters(recurse=False)):  # owns parameters, but has no reset
        skipped.append(type(module).__name__)
reset_names, skipped_names = ", ".join(reset), ", ".join(skipped)
never_written = ", ".join(name for name, p in model.named_parameters() if p.isnan().any())
print(
    f"{count_on_meta} parameters; reset: {reset_names}; "
    f"owning parameters but skipped: {skipped_names}"
)

torch.manual_seed(0)
with torch.device(device):
    direct = build()


def same_state(a: nn.Module, b: nn.Module) -> bool:
    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(
        torch.equal(state_a[k], state_b[k]) for k in state_a
    )


linear_layers_match = all(same_state(model[i], direct[i]) for i in (0, 2))
print("MyLinear state_dicts identical to a direct build with the same seed:", linear_layers_match)
print("still holding the NaN marker after the loop:", never_written)

assert count_on_meta == 10 * 8 + 8 + 8 * 3 + 3 + 3 == 118
assert all_on_meta  # witness: all-on-meta
assert not explicit.is_meta and not from_numpy.is_meta  # witness: explicit-device-escapes
assert reset_names == "MyLinear, MyLinear" and linear_layers_match  # witness: mylinear-reset
assert skipped_names == "InitInConstructor"
assert never_written == "3.scale"  # witness: scale-never-written

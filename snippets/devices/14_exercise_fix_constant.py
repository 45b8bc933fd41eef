"""Exercise: repair a module that keeps a constant as a plain tensor and draws noise on the CPU."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.fixed = torch.rand(4, 4)  # plain attribute: .to() leaves it on the CPU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = 0.01 * torch.randn(x.shape)  # always drawn on the CPU
        return torch.relu(self.linear(x) @ self.fixed) + noise


class Repaired(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        # A non-persistent buffer moves with the module; persistent=True would also save it.
        self.register_buffer("fixed", torch.rand(4, 4), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = 0.01 * torch.randn_like(x)  # same shape, dtype and device as x
        return torch.relu(self.linear(x) @ self.fixed) + noise


def runs_on(module_class: type[nn.Module], target: str | torch.device) -> bool:
    """True if a fresh module moved to target runs a forward pass on an input made there."""
    torch.manual_seed(0)
    module = module_class().to(target)
    try:
        module(torch.ones(2, 4, device=target))
    except RuntimeError:
        return False
    return True


broken_on_meta = runs_on(Broken, "meta")
repaired_on_meta = runs_on(Repaired, "meta")
repaired_on_device = runs_on(Repaired, device)
print("Broken runs on meta:", broken_on_meta)
print("Repaired runs on meta:", repaired_on_meta, f"| on {device}:", repaired_on_device)
print("Repaired state_dict keys:", list(Repaired().state_dict()))

assert not broken_on_meta  # witness: broken-fails-on-meta
assert repaired_on_meta and repaired_on_device  # witness: repaired-runs-on-meta
assert list(Repaired().state_dict()) == ["linear.weight", "linear.bias"]

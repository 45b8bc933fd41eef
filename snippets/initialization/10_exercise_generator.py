"""Exercise: initialize from a private generator, so weights depend on one seed and nothing else."""

import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def reinitialize(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every Linear layer as PyTorch's default would, but from a generator seeded
    with `seed`."""
    generator = torch.Generator().manual_seed(seed)  # a CPU generator: initialize before moving

    def init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(module.in_features)
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)

    return model.apply(init)


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


torch.manual_seed(0)
first = reinitialize(build(), seed=42).to(device)

torch.manual_seed(123)  # a different global state...
torch.randn(1000)  # ...and some of it used up, as other code in a program would
second = reinitialize(build(), seed=42).to(device)

same = all(torch.equal(p, q) for p, q in zip(first.parameters(), second.parameters()))
# The constructors still draw their default values from the global stream (then overwritten);
# reinitialize itself leaves the global stream alone.
state_before = torch.get_rng_state()
model = build()
constructor_uses_global_stream = not torch.equal(state_before, torch.get_rng_state())
state_before = torch.get_rng_state()
reinitialize(model, seed=42)
reinitialize_uses_global_stream = not torch.equal(state_before, torch.get_rng_state())
print("same weights from the same generator seed:", same)
print("constructing the layers uses the global stream:", constructor_uses_global_stream)
print("reinitialize uses the global stream:", reinitialize_uses_global_stream)

assert same and constructor_uses_global_stream and not reinitialize_uses_global_stream

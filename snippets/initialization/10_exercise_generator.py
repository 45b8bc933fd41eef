"""Exercise: initialize from a private generator, so weights depend on one seed and nothing else."""

import inspect
import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def reinitialize(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every Linear layer as PyTorch's default would, but from a generator seeded
    with `seed`."""
    generator = torch.Generator().manual_seed(seed)  # a CPU generator: initialize before moving
    for module in model.modules():  # each module once, even a shared one (apply may repeat it)
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                fan_in = module.in_features
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0  # as nn.Linear guards it
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    return model


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2, bias=False))


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


# Every nn.init function that draws random numbers takes generator=; the constant fills do not.
# The functions are the public names that end in "_"; called without a generator, the ones that
# draw move the global stream.
def moves_global_stream(name: str) -> bool:
    options = {"constant_": {"val": 0.3}, "sparse_": {"sparsity": 0.5}}.get(name, {})
    state_before = torch.get_rng_state()
    tensor = torch.empty(8, 4, 3) if name == "dirac_" else torch.empty(8, 4)
    getattr(nn.init, name)(tensor, **options)
    return not torch.equal(state_before, torch.get_rng_state())


names = sorted(name for name in dir(nn.init) if name.endswith("_") and not name.startswith("_"))
drawing = [name for name in names if moves_global_stream(name)]
constant = [name for name in names if name not in drawing]
takes_generator = {
    name: "generator" in inspect.signature(getattr(nn.init, name)).parameters
    for name in drawing + constant
}


def fill_twice(name: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """nn.init.<name> from a generator seeded 42, after global seeds 0 and 1; also whether the
    global stream moved."""
    filled, global_moved = [], False
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        state_before = torch.get_rng_state()
        options = {"sparsity": 0.5} if name == "sparse_" else {}
        generator = torch.Generator().manual_seed(42)
        filled.append(getattr(nn.init, name)(torch.empty(8, 4), generator=generator, **options))
        global_moved |= not torch.equal(state_before, torch.get_rng_state())
    return filled[0], filled[1], global_moved


# The generator alone decides: the same values whatever the global seed, and the global stream
# untouched. All but sparse_, which still picks its zero positions from the global stream.
fills = {name: fill_twice(name) for name in drawing}
private_only = {name: torch.equal(a, b) and not moved for name, (a, b, moved) in fills.items()}
print("with generator=, still uses the global stream:", [n for n in drawing if not private_only[n]])
sparse_a, sparse_b, sparse_moved = fills["sparse_"]
both_nonzero = (sparse_a != 0) & (sparse_b != 0)
sparse_values_private = bool(both_nonzero.any()) and torch.equal(
    sparse_a[both_nonzero], sparse_b[both_nonzero]
)
sparse_zeros_global = sparse_moved and not torch.equal(sparse_a == 0, sparse_b == 0)

# A CPU generator cannot fill a tensor on a GPU.
if device.type == "cuda":
    try:
        nn.init.uniform_(torch.empty(3, device=device), generator=torch.Generator())
        wrong_device_message = "no error"
    except RuntimeError as error:
        wrong_device_message = str(error)
    print("CPU generator, CUDA tensor:", wrong_device_message)
    expected = "Expected a 'cuda' device type for generator"  # ATen/core/Generator.h
    assert wrong_device_message.startswith(expected)  # witness: cpu-generator-cpu-only

assert same  # witness: same-generator-seed
drawing_private = len(drawing) >= 9 and all(takes_generator[name] for name in drawing)
drawing_private &= all(private_only[name] for name in drawing if name != "sparse_")
assert drawing_private  # witness: drawing-takes-generator
assert sparse_values_private and sparse_zeros_global  # witness: sparse-uses-global
constants_listed = set(constant) == {"zeros_", "ones_", "constant_", "eye_", "dirac_"}
no_generator = constants_listed and not any(takes_generator[name] for name in constant)
assert no_generator  # witness: constants-take-none
assert constructor_uses_global_stream  # witness: constructor-uses-global
assert not reinitialize_uses_global_stream  # witness: reinitialize-leaves-global

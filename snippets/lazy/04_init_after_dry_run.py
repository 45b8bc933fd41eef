"""Custom initialization of a lazy model: dry run first, then model.apply(init)."""

import itertools
import math

import torch
from torch import nn
from torch.nn.parameter import is_lazy

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def init_xavier(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def dry_run(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Materialize every lazy layer with one forward pass that updates no state (see 02)."""
    modes = {module: module.training for module in model.modules()}  # each module's own flag
    model.eval()  # batch norm then uses its running statistics instead of updating them
    try:
        with torch.no_grad():  # only the shapes are needed, not a graph for backward
            model(example)
    finally:  # even if the forward pass raises
        for module, training in modes.items():
            module.training = training  # not module.train(): that would also set all its children
    tensors = itertools.chain(model.named_parameters(), model.named_buffers())
    leftover = [name for name, tensor in tensors if is_lazy(tensor)]
    if leftover:  # for example a branch that eval() mode skips
        raise RuntimeError(f"still lazy after the dry run: {leftover}")
    return model


def materialize_and_init(model: nn.Module, example: torch.Tensor, init) -> nn.Module:
    """Give every lazy layer its shape with one forward pass, then initialize."""
    return dry_run(model, example).apply(init)


torch.manual_seed(0)
model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)).to(device)
lazy_is_a_linear = isinstance(model[0], nn.Linear)  # so init_xavier acts on it
try:
    model.apply(init_xavier)  # too early: Xavier needs the weight's fan-in and fan-out
except ValueError as error:
    init_message = str(error)
    print(f"too early: {type(error).__name__}: {init_message[:62]}...")

materialize_and_init(model, torch.zeros(1, 20, device=device), init_xavier)
first = model[0]
fan_in, fan_out = first.in_features, first.out_features
xavier_bound = math.sqrt(6 / (fan_in + fan_out))
largest_weight = first.weight.abs().max().item()
biases_are_zero = all(torch.all(layer.bias == 0).item() for layer in (model[0], model[2]))
print(
    f"first layer {fan_in} -> {fan_out}: Xavier bound {xavier_bound:.5f}, "
    f"largest |weight| {largest_weight:.5f}"
)
print("all biases zero:", biases_are_zero)

# The helper leaves each module in its own mode: a batch norm frozen on purpose stays frozen.
frozen = nn.Sequential(nn.LazyLinear(8), nn.LazyBatchNorm1d(), nn.ReLU()).to(device)
frozen[1].eval()
materialize_and_init(frozen, torch.zeros(1, 20, device=device), init_xavier)
print("model training:", frozen.training, "| frozen batch norm training:", frozen[1].training)

assert lazy_is_a_linear and issubclass(nn.LazyLinear, nn.Linear)  # witness: lazy-is-linear
assert init_message.startswith("Attempted to use an uninit")  # witness: init-too-early-fails
assert (fan_in, fan_out) == (20, 256) and math.isclose(xavier_bound, 0.1474, abs_tol=5e-5)
assert largest_weight <= xavier_bound + 1e-6 and biases_are_zero  # witness: init-applied
assert frozen.training and not frozen[1].training  # witness: helper-keeps-frozen

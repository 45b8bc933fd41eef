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


class HalfRepaired(Broken):
    """Draws its noise like the input, but keeps the matrix as a plain attribute."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = 0.01 * torch.randn_like(x)
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


class Tucked(Repaired):
    """Repaired, plus two CPU tensors kept where vars(module) does not show them as tensors."""

    table = torch.rand(4, 4)  # a class attribute, shared by every instance

    def __init__(self) -> None:
        super().__init__()
        self.extras = [torch.rand(4, 4)]  # a tensor inside a plain list

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) @ self.table @ self.extras[0]


refusals = {}  # (class name, target): the error of a forward pass that failed


def runs_on(module_class: type[nn.Module], target: str | torch.device) -> bool:
    """True if a fresh module moved to target runs a forward pass on an input made there."""
    torch.manual_seed(0)
    module = module_class().to(target)
    try:
        module(torch.ones(2, 4, device=target))
    except RuntimeError as error:
        refusals[module_class.__name__, str(target)] = str(error)
        return False
    return True


def tensors_in(value: object, name: str):
    """The tensors in value, also inside lists, tuples and dicts, each with its name."""
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from tensors_in(item, f"{name}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from tensors_in(item, f"{name}[{key!r}]")


REGISTRIES = {"_parameters", "_buffers", "_modules"}  # read with named_parameters() and so on


def left_behind(module_class: type[nn.Module]) -> list[str]:
    """The tensors that a fresh module, moved to meta, still holds elsewhere, registered or not."""
    module = module_class().to("meta")
    held = dict(module.named_parameters()) | dict(module.named_buffers())
    for prefix, submodule in module.named_modules():
        # The attributes of the instance and of its classes, which .to() skips.
        for owner in (submodule, *type(submodule).__mro__):
            for name, value in vars(owner).items():
                if name not in REGISTRIES:
                    for key, tensor in tensors_in(value, f"{prefix}.{name}" if prefix else name):
                        held.setdefault(key, tensor)
    return [name for name, tensor in held.items() if tensor.device.type != "meta"]


classes = (Broken, HalfRepaired, Repaired, Tucked)
forward_on_meta = {cls.__name__: runs_on(cls, "meta") for cls in classes}
not_moved = {cls.__name__: left_behind(cls) for cls in classes}
for cls in classes:
    name = cls.__name__
    print(f"{name:12} forward on meta runs: {forward_on_meta[name]!s:5}", end=" | ")
    print("left off meta:", not_moved[name])
repaired_on_device = runs_on(Repaired, device)
print(f"Repaired runs on {device}:", repaired_on_device)
print("Repaired state_dict keys:", list(Repaired().state_dict()))

device_refusal = "is not on the expected device" in refusals.get(("Broken", "meta"), "")
assert not forward_on_meta["Broken"] and device_refusal  # witness: broken-fails-on-meta
half_repaired_passes = forward_on_meta["HalfRepaired"] and not_moved["HalfRepaired"] == ["fixed"]
assert half_repaired_passes  # witness: forward-misses-the-matrix
assert (
    not_moved["Broken"] == ["fixed"]
    and not_moved["HalfRepaired"] == ["fixed"]
    and not_moved["Repaired"] == []
)  # witness: tensors-checked
assert forward_on_meta["Tucked"] and not_moved["Tucked"] == [
    "extras[0]",
    "table",
]  # witness: tucked-found
assert (
    forward_on_meta["Repaired"] and not not_moved["Repaired"] and repaired_on_device
)  # witness: repaired-passes-both
assert list(Repaired().state_dict()) == ["linear.weight", "linear.bias"]

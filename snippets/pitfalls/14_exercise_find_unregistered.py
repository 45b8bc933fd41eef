"""Exercise: find_unregistered() reports tensors and modules a model holds but does not register."""

import torch
from torch import nn

# The attributes every nn.Module has: its bookkeeping (training, _parameters, _modules, hooks...).
MODULE_INTERNALS = frozenset(vars(nn.Module()))


def trainable(value: object) -> bool:
    """A leaf tensor with requires_grad (a parameter is one). An activation that forward keeps,
    computed from parameters, is no leaf."""
    return isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf


def find_unregistered(model: nn.Module) -> list[str]:
    """Attributes of `model` or its submodules that hold a trainable tensor or a module in
    a way that nn.Module does not see: a trainable tensor that is not a parameter, or a list,
    tuple or dict of modules or of trainable tensors that the model registers nowhere."""
    registered = {id(p) for p in model.parameters()} | {id(m) for m in model.modules()}
    problems = []
    for prefix, module in model.named_modules():
        # Registered parameters, buffers and submodules live in nn.Module's own dicts
        # _parameters, _buffers and _modules; every other entry of vars() is a plain attribute.
        for name, value in vars(module).items():
            if name in MODULE_INTERNALS:
                continue
            where = f"{prefix}.{name}" if prefix else name
            if trainable(value):
                problems.append(f"{where}: a tensor with requires_grad; make it an nn.Parameter")
            if not isinstance(value, (list, tuple, dict)):
                continue
            items = list(value.values()) if isinstance(value, dict) else value
            items = [item for item in items if id(item) not in registered]
            container, kind = type(value).__name__, "Dict" if isinstance(value, dict) else "List"
            if any(isinstance(item, nn.Module) for item in items):
                problems.append(f"{where}: modules in a {container}; use nn.Module{kind}")
            if any(trainable(item) for item in items):
                problems.append(
                    f"{where}: trainable tensors in a {container}; use nn.Parameter{kind}"
                )
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
        self.last_output = self.head(x) / self.temperature  # kept for inspection: not a mistake
        return self.last_output


broken, fixed = Net(registered=False), Net(registered=True)
broken_report = find_unregistered(broken)
fixed(torch.randn(2, 4))  # the forward pass keeps an activation that requires grad
fixed_report = find_unregistered(fixed)
print("broken Net:")
for problem in broken_report:
    print("  ", problem)
print("fixed Net, after a forward pass:", fixed_report)
problems_found = len(broken_report)


class PrivateNames(nn.Module):  # the same mistakes under names starting with "_"
    def __init__(self) -> None:
        super().__init__()
        self._blocks = [nn.Linear(4, 4)]
        self._temperature = torch.tensor(1.0, requires_grad=True)


private_report = find_unregistered(PrivateNames())
print("private names:", [problem.split(":")[0] for problem in private_report])


class TensorsInContainers(nn.Module):  # parameters in a list, a tensor in a dict: none registered
    def __init__(self) -> None:
        super().__init__()
        self.weights = [nn.Parameter(torch.randn(3)) for _ in range(2)]
        self.scales = {"a": torch.ones(3, requires_grad=True)}


in_containers = TensorsInContainers()
container_report = find_unregistered(in_containers)
print("tensors in containers:", *container_report, sep="\n   ")


def moved(device: torch.device | str) -> nn.Module:  # pitfall 1, but .to() copies: no leaf
    module = nn.Module()
    module.scale = torch.ones(3, requires_grad=True).to(device)
    return module


moved_report = find_unregistered(moved("meta"))
print("plain tensor moved to meta:", moved_report)

# It looks one level into a container: layers in a list of lists are not reported.
nested = nn.Module()
nested.stages = [[nn.Linear(2, 2)]]
nested_report = find_unregistered(nested)
print("a list of lists of layers:", nested_report)

lstm = nn.LSTM(4, 4)  # keeps its own registered weights in a plain list, _flat_weights
lstm_report = find_unregistered(lstm)
print("nn.LSTM:", lstm_report)

# Why vars() works: a registered parameter lives in _parameters, not among the plain attributes.
linear = nn.Linear(4, 1)
plain = sorted(name for name in vars(linear) if name not in MODULE_INTERNALS)
print("plain attributes of nn.Linear:", plain, " parameters:", list(linear._parameters))

found_in = [problem.split(":")[0] for problem in broken_report]
assert found_in == ["blocks", "temperature"] and fixed_report == []  # witness: finds-both
assert problems_found == 2
assert "weight" not in vars(linear) and "weight" in linear._parameters  # witness: private-dicts
assert plain == ["in_features", "out_features"]
assert broken_report[0].startswith("blocks: modules in a list")
assert broken_report[1].startswith("temperature: a tensor with requires_grad")
assert [p.split(":")[0] for p in private_report] == [  # witness: private-names-found
    "_blocks",
    "_temperature",
]
assert fixed.last_output.requires_grad and fixed_report == []  # witness: activation-not-flagged
unregistered = list(in_containers.parameters()) == []
assert unregistered and container_report == [  # witness: tensors-in-containers
    "weights: trainable tensors in a list; use nn.ParameterList",
    "scales: trainable tensors in a dict; use nn.ParameterDict",
]
own_weights = {id(p) for p in lstm.parameters()}
in_plain_list = type(lstm._flat_weights) is list
flat_registered = {id(w) for w in lstm._flat_weights} == own_weights
assert in_plain_list and flat_registered and lstm_report == []  # witness: lstm-not-flagged
assert moved_report == [] and not moved("meta").scale.is_leaf  # witness: moved-copy-missed
assert nested_report == [] and list(nested.parameters()) == []  # witness: nested-missed
device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
if device.type == "cuda":
    on_gpu = moved(device)
    assert find_unregistered(on_gpu) == [] and not on_gpu.scale.is_leaf  # witness: gpu-copy-missed

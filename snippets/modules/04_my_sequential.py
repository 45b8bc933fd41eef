"""A sequential container written by hand: add_module registers each layer under a name."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class MySequential(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)  # names "0", "1", ... as nn.Sequential uses

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self._modules.values():  # every registered entry, in the order added
            x = module(x)
        return x


# --8<-- [end:class]
torch.manual_seed(0)
mine = MySequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
reference = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
print(mine)

# Same names, so the reference's weights load straight into the hand-written container.
same_keys = list(mine.state_dict()) == list(reference.state_dict())
mine.load_state_dict(reference.state_dict())
X = torch.randn(2, 8).to(device)
same_outputs = torch.equal(mine(X), reference(X))
parameter_count = sum(p.numel() for p in mine.parameters())
registered_order = list(mine._modules)  # internal: the dict add_module fills, in insertion order
probe = MySequential()
probe.add_module("b", nn.ReLU())
probe.add_module("a", nn.Tanh())  # added second, though "a" sorts first
probe.add_module("b", nn.Sigmoid())  # a name added again: its module is replaced in place
probe_order = list(probe._modules)
replaced_in_place = isinstance(probe._modules["b"], nn.Sigmoid)
by_setattr = MySequential()
setattr(by_setattr, "0", nn.ReLU())
setattr_names = [name for name, _ in by_setattr.named_children()]
print(
    "same state_dict keys:",
    same_keys,
    " same outputs:",
    same_outputs,
    " parameters:",
    parameter_count,
)
print("names in _modules, in the order first added:", registered_order, probe_order)

assert same_keys  # witness: same-keys
assert same_outputs  # witness: same-outputs
in_order = (registered_order, probe_order) == (["0", "1", "2"], ["b", "a"])
assert in_order and replaced_in_place  # witness: modules-in-order
assert setattr_names == ["0"]  # witness: setattr-registers
assert parameter_count == 420

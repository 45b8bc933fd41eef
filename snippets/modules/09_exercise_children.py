"""Exercise: children() lists a repeated module once, so a container must not loop over it."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class ChildrenSequential(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The mistake: children() skips a module it has already yielded.
        for module in self.children():
            x = module(x)
        return x


double = nn.Linear(1, 1, bias=False).to(device)
with torch.no_grad():
    double.weight.fill_(2.0)
x = torch.tensor([[1.0]], device=device)

children_result = ChildrenSequential(double, double)(x).item()
sequential = nn.Sequential(double, double)
sequential_result = sequential(x).item()
# nn.Sequential iterates over _modules, which keeps both names, not over children().
iterates_modules = list(sequential) == list(sequential._modules.values()) == [double, double]
sequential_children = len(list(sequential.children()))  # children() yields the repeat once
children_count = len(list(ChildrenSequential(double, double).children()))
print(
    f"children() yields {children_count} module; ChildrenSequential gives {children_result:g}, "
    f"nn.Sequential gives {sequential_result:g}"
)

# The public alternative: an nn.ModuleList yields every entry, repeats included.
module_list_length = len(list(nn.ModuleList([double, double])))
# A plain Python list registers nothing, so the methods that walk the tree miss the layers.
holder = nn.Module()
holder.layers = [double, double]
holder.eval()  # reaches no layer
holder.to("meta")  # moves no layer
entries_seen = len(list(holder.parameters())) + len(holder.state_dict())
layer_untouched = double.training and double.weight.device.type == device.type
print(f"nn.ModuleList yields {module_list_length} entries")
print(f"a plain list: {entries_seen} parameters or state_dict entries;", end=" ")
print("the layer kept its mode and device:", layer_untouched)

assert children_count == 1  # witness: children-dedup
assert children_result == 2.0  # witness: children-runs-once
assert iterates_modules and sequential_children == 1  # witness: sequential-iterates-modules
assert sequential_result == 4.0  # witness: sequential-repeats
assert module_list_length == 2  # witness: module-list-repeats
assert entries_seen == 0 and layer_untouched  # witness: plain-list-hidden

"""Exercise: list the names under which one parameter tensor appears more than once."""

import io
from collections import defaultdict

import torch
from torch import nn


def shared_parameter_names(model: nn.Module) -> list[list[str]]:
    """Groups of names that refer to one and the same parameter tensor (by identity, not value)."""
    names_by_tensor: dict[int, list[str]] = defaultdict(list)
    for name, parameter in model.named_parameters(remove_duplicate=False):
        names_by_tensor[id(parameter)].append(name)
    return [names for names in names_by_tensor.values() if len(names) > 1]


shared = nn.Linear(8, 8)
stack = nn.Sequential(
    nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
)


class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


equal_but_separate = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
with torch.no_grad():
    equal_but_separate[1].weight.copy_(equal_but_separate[0].weight)
    equal_but_separate[1].bias.copy_(equal_but_separate[0].bias)

stack_groups = shared_parameter_names(stack)
pair_groups = shared_parameter_names(TiedPair())
separate_groups = shared_parameter_names(equal_but_separate)
print("stack:", stack_groups)
print("tied pair:", pair_groups)
print("equal but separate:", separate_groups)

values_equal = torch.equal(equal_but_separate[0].weight, equal_but_separate[1].weight)
print("equal but separate: torch.equal on the weights:", values_equal)

# The half-tie that load_state_dict(assign=True) leaves: two Parameter objects on one memory.
buffer = io.BytesIO()
torch.save(TiedPair().state_dict(), buffer)
half_tied = TiedPair()
half_tied.load_state_dict(torch.load(io.BytesIO(buffer.getvalue())), assign=True)
half_tied_weights = (half_tied.embed.weight, half_tied.out.weight)
two_objects = half_tied_weights[0] is not half_tied_weights[1]
one_memory = len({w.untyped_storage().data_ptr() for w in half_tied_weights}) == 1
half_tied_groups = shared_parameter_names(half_tied)  # grouping by id() is an `is` test
print("half-tied pair:", half_tied_groups, "- two objects, one memory:", two_objects, one_memory)

assert stack_groups == [["2.weight", "4.weight"], ["2.bias", "4.bias"]]  # witness: finds-stack
assert pair_groups == [["embed.weight", "out.weight"]]  # witness: finds-pair
assert values_equal and separate_groups == []  # witness: equal-values-no-group
assert two_objects and one_memory and half_tied_groups == []  # witness: misses-half-tie

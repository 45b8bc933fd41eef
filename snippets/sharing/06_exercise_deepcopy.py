"""Exercise: does copy.deepcopy keep a model's sharing? Does the copy share with the original?"""

import copy

import torch
from torch import nn

shared = nn.Linear(8, 8)
model = nn.Sequential(
    nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
)
memo: dict[int, object] = {}  # deepcopy's record of what it has copied: id(original) -> copy
clone = copy.deepcopy(model, memo)

clone_tied_inside = clone[2].weight is clone[4].weight
memo_gives_one_copy = memo[id(shared)] is clone[2] is clone[4]
clone_shares_with_original = clone[2].weight is model[2].weight
clone_parameter_count = sum(p.numel() for p in clone.parameters())
with torch.no_grad():
    clone[2].weight.zero_()
original_untouched = bool(model[2].weight.abs().sum() > 0)
original_memory = {p.untyped_storage().data_ptr() for p in model.parameters()}
clone_memory = {p.untyped_storage().data_ptr() for p in clone.parameters()}
no_memory_in_common = not (original_memory & clone_memory)
print("clone[2].weight is clone[4].weight:", clone_tied_inside)
print("memo[id(shared)] is clone[2] is clone[4]:", memo_gives_one_copy)
print("clone[2].weight is model[2].weight:", clone_shares_with_original)
print(
    "parameters in the clone:",
    clone_parameter_count,
    " original unchanged by editing the clone:",
    original_untouched,
)

print("the clone's parameters use none of the original's memory:", no_memory_in_common)

# Distinct Parameter objects on one memory: a half-tie (a, b), as assign=True leaves for one
# Parameter given to two modules, and a parameter cut from the same buffer (row). The same
# tensors as plain tensors, for comparison.
flat = torch.zeros(2, 8)
on_one_memory = nn.ParameterDict(
    {"a": nn.Parameter(flat), "b": nn.Parameter(flat), "row": nn.Parameter(flat[1])}
)
as_plain = {name: p.detach() for name, p in on_one_memory.items()}
listed = len(list(on_one_memory.parameters()))
counted, memory_values = sum(p.numel() for p in on_one_memory.parameters()), flat.numel()
print(f"parameters() lists {listed} and counts {counted} values; memory holds {memory_values}")
copied = copy.deepcopy(on_one_memory)
storages = [
    len({t.untyped_storage().data_ptr() for t in tensors.values()})
    for tensors in (on_one_memory, copied, copy.deepcopy(as_plain))
]
print("storages behind a, b and row: original, deepcopy, deepcopy as plain tensors:", storages)
with torch.no_grad():
    on_one_memory["a"].fill_(2.0)
    copied["a"].fill_(1.0)
write_shows = bool(torch.all(on_one_memory["b"] == 2) and torch.all(on_one_memory["row"] == 2))
write_stays = bool(torch.all(copied["b"] == 0) and torch.all(copied["row"] == 0))
print("a write into a shows in b and row: original", write_shows, " deepcopy", not write_stays)

assert clone_tied_inside  # witness: clone-tied-inside
assert memo_gives_one_copy  # witness: memo-one-copy
assert clone_parameter_count == sum(p.numel() for p in model.parameters()) == 121
assert not clone_shares_with_original and no_memory_in_common  # witness: clone-shares-nothing
assert original_untouched and bool(torch.all(clone[4].weight == 0))
assert (listed, counted, memory_values) == (3, 40, 16)  # witness: distinct-parameters-counted
assert storages == [1, 3, 1]  # witness: parameters-cloned-apart
assert write_shows and write_stays  # witness: write-stays-apart

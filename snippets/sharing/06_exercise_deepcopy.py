"""Exercise: does copy.deepcopy keep a reused layer's tie? Does the copy share with the original?"""

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

assert clone_tied_inside  # witness: clone-tied-inside
assert memo_gives_one_copy  # witness: memo-one-copy
assert clone_parameter_count == sum(p.numel() for p in model.parameters()) == 121
assert not clone_shares_with_original and no_memory_in_common  # witness: clone-shares-nothing
assert original_untouched and bool(torch.all(clone[4].weight == 0))

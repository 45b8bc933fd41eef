"""state_dict() returns aliases of the live tensors: a "best model" kept that way keeps changing,
until a conversion that copies (to a new dtype, or to "cpu:0") gives the parameters new memory."""

import copy
import io

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 3), torch.randn(8, 1)


def train_step() -> None:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()


best_by_reference = model.state_dict()  # the mistake: tensors that share memory with the model
best_copy = copy.deepcopy(model.state_dict())  # the fix: an independent copy
weight_then = model.weight.detach().clone()
file = io.BytesIO()
torch.save(model.state_dict(), file)  # a file is a copy too

train_step()  # training goes on after the "best" epoch...

reference_changed = not torch.equal(best_by_reference["weight"], weight_then)
copy_changed = not torch.equal(best_copy["weight"], weight_then)
shares_memory = best_by_reference["weight"].data_ptr() == model.weight.data_ptr()
print("state_dict() snapshot changed with the model:", reference_changed)
print("it shares memory with model.weight:", shares_memory)
print("deepcopy snapshot changed:", copy_changed)
file.seek(0)
file_changed = not torch.equal(torch.load(file)["weight"], weight_then)
print("saved file changed:", file_changed)
new_objects = best_by_reference["weight"] is not model.weight  # an alias, not the Parameter
print("the entry is model.weight itself:", not new_objects)
kept_vars = model.state_dict(keep_vars=True)["weight"]  # keep_vars=True: the Parameters themselves
kept_vars_are_parameters = kept_vars is model.weight
print("with keep_vars=True, the entry is model.weight itself:", kept_vars_are_parameters)

# A conversion for which Tensor.to returns each tensor itself keeps the memory, and the alias with
# it; one that copies gives the parameters new memory (float64 stays on the CPU here).
model.to("cpu")  # the model is on the CPU already: to() returns each tensor itself
alias_after_no_op = best_by_reference["weight"].data_ptr() == model.weight.data_ptr()
print('after model.to("cpu"), the kept entry still shares memory:', alias_after_no_op)
# "cpu:0" names the same device, but it is not x.device ("cpu"), so to() copies (pitfall 13).
other = nn.Linear(3, 1)
other_kept, other_weight = other.state_dict(), other.weight
other.to("cpu:0")
cpu0_same_object = other.weight is other_weight  # the Parameter stays, with new memory in it
alias_after_cpu0 = other_kept["weight"].data_ptr() == other.weight.data_ptr()
print('after model.to("cpu:0"), the kept entry still shares memory:', alias_after_cpu0)
model.to(torch.float64)
kept = best_by_reference["weight"]
after_conversion = kept.dtype, model.weight.dtype
still_shared = kept.data_ptr() == model.weight.data_ptr()
print("after model.to(torch.float64): kept entry", kept.dtype, " weight", model.weight.dtype)
print("  they still share memory:", still_shared)

assert reference_changed and shares_memory  # witness: shares-storage
assert new_objects and not best_by_reference["weight"].requires_grad  # witness: detached
assert kept_vars_are_parameters  # witness: keep-vars-parameters
assert not copy_changed and not file_changed  # witness: copies-keep
conversion_ends_sharing = after_conversion == (torch.float32, torch.float64) and not still_shared
assert conversion_ends_sharing  # witness: conversion-ends-sharing
assert alias_after_no_op  # witness: no-op-conversion-keeps-alias
assert cpu0_same_object and not alias_after_cpu0  # witness: cpu0-conversion-ends-alias

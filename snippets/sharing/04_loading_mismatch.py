"""Load a checkpoint into a model whose sharing differs: no error, but a silent change of values."""

import warnings

import torch
from torch import nn


def build(tied: bool) -> nn.Sequential:
    third = nn.Linear(8, 8)
    fifth = third if tied else nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), third, nn.ReLU(), fifth, nn.ReLU(), nn.Linear(8, 1)
    )


torch.manual_seed(0)
untied_checkpoint = build(tied=False).state_dict()  # 2.weight and 4.weight hold different values

# An untied checkpoint into a tied model: both keys are copied into the one tensor. The module
# that load_state_dict visits later, path 4, wins.
tied_model = build(tied=True)
weight_before, memory_before = tied_model[2].weight, tied_model[2].weight.data_ptr()
held = []  # the shared weight after each load of its module, once per path
tied_model[2].register_load_state_dict_post_hook(
    lambda module, keys: held.append(module.weight.detach().clone())
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = tied_model.load_state_dict(untied_checkpoint)  # strict=True by default, and it passes
no_key_problems = not result.missing_keys and not result.unexpected_keys
holds_key_4 = torch.equal(tied_model[2].weight, untied_checkpoint["4.weight"])
first_held_2 = len(held) == 2 and torch.equal(held[0], untied_checkpoint["2.weight"])
copied_in_turn = first_held_2 and torch.equal(held[1], untied_checkpoint["4.weight"])
same_weight = tied_model[2].weight is weight_before  # copied into, not replaced
copied_in_turn &= same_weight and tied_model[2].weight.data_ptr() == memory_before
lost_key_2 = not torch.equal(tied_model[2].weight, untied_checkpoint["2.weight"])
print("strict load reported no missing or unexpected keys:", no_key_problems)
print("warnings issued:", len(caught))
print(f"loads of the shared layer: {len(held)}, holding 2.weight after the first: {first_held_2}")
print(
    "the shared weight now holds 4.weight:", holds_key_4, " 2.weight was overwritten:", lost_key_2
)
# The order of the keys in the checkpoint does not matter: reversed, 4.weight still wins.
# (A plain dict drops the state_dict's _metadata, the modules' versions: fine for Linear.)
reversed_checkpoint = dict(reversed(untied_checkpoint.items()))
reversed_model = build(tied=True)
reversed_model.load_state_dict(reversed_checkpoint)
holds_key_4_reversed = torch.equal(reversed_model[2].weight, untied_checkpoint["4.weight"])
print("with the checkpoint's keys reversed, it still holds 4.weight:", holds_key_4_reversed)
# Visited later, not named later: "z" is registered first, and the same layer again as "a".
source = nn.Module()
source.z, source.a = nn.Linear(8, 8), nn.Linear(8, 8)
target = nn.Module()
target.z = nn.Linear(8, 8)
target.a = target.z
target.load_state_dict(source.state_dict())
visit_order = list(target.state_dict())
a_wins = torch.equal(target.z.weight, source.a.weight)
print(f"keys in visiting order: {visit_order}; a.weight wins: {a_wins}")

# With assign=True, path 4 is still the same module: its slot takes the value of the later key.
assigned = build(tied=True)
parameter_before = assigned[2].weight
assigned.load_state_dict(untied_checkpoint, assign=True)
assign_still_tied = assigned[2].weight is assigned[4].weight
assign_holds_key_4 = torch.equal(assigned[2].weight, untied_checkpoint["4.weight"])
assign_objects = len({id(p) for _, p in assigned.named_parameters(remove_duplicate=False)})
# Not copied into: a new Parameter object, on the memory of the checkpoint's tensor.
new_parameter = assigned[2].weight is not parameter_before
new_parameter &= isinstance(assigned[2].weight, nn.Parameter)
on_checkpoint = assigned[2].weight.data_ptr() == untied_checkpoint["4.weight"].data_ptr()
print(f"assign=True: still tied {assign_still_tied}, {assign_objects} Parameters for 8 names,")
print("  the shared weight holds 4.weight:", assign_holds_key_4, end=" ")
print(" a new Parameter on the checkpoint's memory:", new_parameter and on_checkpoint)

# The assign=True load wrote its flag into untied_checkpoint's _metadata, in the entry of each
# module it reached (layer 2's here): a later load reads it there.
flag_in_dict = untied_checkpoint._metadata["2"].get("assign_to_params_buffers")
later_default = build(tied=True)
parameter_before_default = later_default[2].weight
later_default.load_state_dict(untied_checkpoint)  # no assign=True here
default_load_assigns = later_default[2].weight is not parameter_before_default
told_not_to = build(tied=True)
parameter_before_false = told_not_to[2].weight
told_not_to.load_state_dict(untied_checkpoint, assign=False)  # the dict's flag wins all the same
assign_false_assigns = told_not_to[2].weight is not parameter_before_false
print("flag in the dict:", flag_in_dict, end=" | ")
print("a later load replaces the Parameter:", default_load_assigns, end=" ")
print("| given assign=False as well:", assign_false_assigns)

# A Parameter given to two modules (not a module reused) keeps that tie through a load that copies.
shared_parameter = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
shared_parameter[1].weight = shared_parameter[0].weight
shared_parameter.load_state_dict(nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8)).state_dict())
copy_keeps_tie = shared_parameter[0].weight is shared_parameter[1].weight
print("one Parameter in two modules, after a load that copies: still one object:", copy_keeps_tie)

# A tied checkpoint into an untied model: equal values now, but two parameters from here on.
tied_checkpoint = build(tied=True).state_dict()
untied_model = build(tied=False)
untied_model.load_state_dict(tied_checkpoint)
equal_values = torch.equal(untied_model[2].weight, untied_model[4].weight)
same_tensor = untied_model[2].weight is untied_model[4].weight
same_memory = untied_model[2].weight.data_ptr() == untied_model[4].weight.data_ptr()
print(
    "untied model after loading: equal values:", equal_values, " same tensor:", same_tensor, end=" "
)
print(" same memory:", same_memory)
untied_model(torch.randn(16, 4)).pow(2).mean().backward()
grads_differ = not torch.equal(untied_model[2].weight.grad, untied_model[4].weight.grad)
torch.optim.SGD(untied_model.parameters(), lr=0.1).step()
apart_after_step = not torch.equal(untied_model[2].weight, untied_model[4].weight)
print("different gradients:", grads_differ, " apart after one SGD step:", apart_after_step)

assert no_key_problems  # witness: strict-load-passes
assert caught == []  # witness: no-warning
assert copied_in_turn  # witness: copied-in-turn
assert holds_key_4 and lost_key_2  # witness: later-module-wins
assert list(reversed_checkpoint)[0] == "6.bias"
assert holds_key_4_reversed  # witness: order-irrelevant
assert visit_order == ["z.weight", "z.bias", "a.weight", "a.bias"]
assert a_wins  # witness: visit-order-not-name-order
assert assign_still_tied and assign_objects == 6  # witness: assign-reused-module-stays-tied
assert assign_holds_key_4  # witness: assign-later-module-wins
assert new_parameter and on_checkpoint  # witness: assign-new-parameter
flag_sticks = flag_in_dict is True and default_load_assigns and assign_false_assigns
assert flag_sticks  # witness: assign-flag-sticks
assert equal_values and not same_tensor and not same_memory  # witness: equal-not-same
assert copy_keeps_tie  # witness: copy-keeps-tie
assert grads_differ and apart_after_step  # witness: drift-apart

"""One module object placed twice in a model: one set of parameters, reached by two names.

Then three distinct Parameters whose memory overlaps (two on the whole of one tensor's memory, one
on its second row), which parameters() counts apart.
"""

import inspect

import torch
from torch import nn

shared = nn.Linear(8, 8)
model = nn.Sequential(
    nn.Linear(4, 8),
    nn.ReLU(),
    shared,
    nn.ReLU(),
    shared,  # the same object again, not a copy
    nn.ReLU(),
    nn.Linear(8, 1),
)

same_module = model[2] is model[4]
print("model[2] is model[4]:", same_module)

listed_once = [name for name, _ in model.named_parameters()]
listed_everywhere = [name for name, _ in model.named_parameters(remove_duplicate=False)]
print("named_parameters():                      ", listed_once)
print("named_parameters(remove_duplicate=False):", listed_everywhere)
by_name = dict(model.named_parameters(remove_duplicate=False))
weight_names_one = by_name["2.weight"] is by_name["4.weight"]
two_names = weight_names_one and by_name["2.bias"] is by_name["4.bias"]
print("2.weight and 4.weight name one tensor, and so do 2.bias and 4.bias:", two_names)

true_count = sum(p.numel() for p in model.parameters())
double_count = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
print(f"parameters: {true_count} (counting the shared layer twice would give {double_count})")
# Distinct Parameter objects whose memory overlaps: parameters() lists and counts each of them.
flat = torch.zeros(2, 8)
on_one_memory = nn.ParameterDict(
    {"a": nn.Parameter(flat), "b": nn.Parameter(flat), "row": nn.Parameter(flat[1])}
)
counted, memory_values = sum(p.numel() for p in on_one_memory.parameters()), flat.numel()
storages = {p.untyped_storage().data_ptr() for p in on_one_memory.parameters()}
on_flat = storages == {flat.untyped_storage().data_ptr()}
print(
    f"three Parameters on one tensor's memory: counted {counted}, values in memory {memory_values}"
)
print("all three in flat's one storage:", on_flat)

# Iterating or indexing the Sequential gives every position; the module listings remove
# duplicates, unless named_modules() is called with remove_duplicate=False.
positions = list(model)
children = [name for name, _ in model.named_children()]
module_paths = [name for name, _ in model.named_modules()]  # "" is the Sequential itself
every_module_path = [name for name, _ in model.named_modules(remove_duplicate=False)]
print(f"len(model) = {len(model)}, list(model) has {len(positions)} entries")
print(f"named_children(): {children}")
print(f"named_modules(): {module_paths}")
print(f"named_modules(remove_duplicate=False): {every_module_path}")
children_flag = "remove_duplicate" in inspect.signature(model.named_children).parameters
print("named_children() takes remove_duplicate:", children_flag)

tensor_count = len(listed_once)
name_count = len(listed_everywhere)
sequential_length = len(model)
child_count = len(children)
module_count = len(module_paths)
every_module_count = len(every_module_path)
missing_names = ", ".join(sorted(set(listed_everywhere) - set(listed_once)))

assert same_module  # witness: same-module
assert two_names  # witness: one-weight-two-names
# Each tensor once, under the first name that reaches it (position 2, not 4).
first_names = ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
ids = [id(p) for p in model.parameters()]
params_once = len(set(ids)) == len(ids) == 6
assert listed_once == first_names and params_once  # witness: listed-once-first-name
assert (tensor_count, name_count) == (6, 8)
assert missing_names == "4.bias, 4.weight"
assert true_count == 40 + 72 + 9 == 121
assert double_count == true_count + 72 == 193
assert (sequential_length, child_count, module_count) == (7, 6, 7)
assert len(positions) == 7 and positions[2] is positions[4]  # witness: iteration-every-position
assert children == ["0", "1", "2", "3", "5", "6"]  # witness: children-skip-index-4
assert not children_flag  # witness: children-no-flag
assert module_paths == ["", "0", "1", "2", "3", "5", "6"]  # witness: modules-skip-index-4
every_position = ["", "0", "1", "2", "3", "4", "5", "6"]
assert every_module_path == every_position and every_module_count == 8  # witness: modules-flag-all
one_memory_counts = (len(list(on_one_memory.parameters())), counted, memory_values)
assert on_flat and one_memory_counts == (3, 40, 16)  # witness: distinct-parameters-counted

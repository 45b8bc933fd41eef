"""Exercise: [layer] * 3 repeats one layer object; a comprehension builds three layers."""

import torch
from torch import nn

repeated = nn.Sequential(*[nn.Linear(8, 8)] * 3)  # one Linear, three references to it
distinct = nn.Sequential(*[nn.Linear(8, 8) for _ in range(3)])  # three Linear objects

repeated_length, distinct_length = len(repeated), len(distinct)
repeated_parameters = sum(p.numel() for p in repeated.parameters())
distinct_parameters = sum(p.numel() for p in distinct.parameters())
repeated_is_one_layer = repeated[0] is repeated[1] is repeated[2]
print(
    f"repeated: {repeated_length} entries, {repeated_parameters} parameters,",
    f"one object: {repeated_is_one_layer}",
)
print(f"distinct: {distinct_length} entries, {distinct_parameters} parameters")

# The repeated model applies its one layer three times.
layer = repeated[0]
x = torch.randn(2, 8)
applies_three_times = torch.equal(repeated(x), layer(layer(layer(x))))
# parameters() yields each Parameter object once; the state_dict lists it under every name.
state = repeated.state_dict()
parameter_tensors, state_dict_entries = len(list(repeated.parameters())), len(state)
state_dict_numbers = sum(tensor.numel() for tensor in state.values())
names = [f"{i}.{name}" for i in "012" for name in ("weight", "bias")]
shared_storage = all(  # every entry holds the memory of the one layer's weight or bias
    state[f"{i}.{name}"].data_ptr() == getattr(layer, name).data_ptr()
    for i in "012"
    for name in ("weight", "bias")
)
print(f"repeated: {parameter_tensors} parameter tensors, {state_dict_entries} state_dict entries")
print("state_dict keys:", *state)
print("numbers in the state_dict of repeated:", state_dict_numbers)

assert repeated_length == distinct_length == 3
assert repeated_is_one_layer  # witness: one-object
assert (repeated_parameters, distinct_parameters) == (72, 216)
assert applies_three_times  # witness: applies-three-times
counts = (parameter_tensors, state_dict_entries) == (2, 6)
assert counts and list(state) == names and shared_storage  # witness: parameters-once
assert state_dict_numbers == distinct_parameters == 216

"""Exercise: [layer] * 3 repeats one layer object; a comprehension builds three layers."""

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

assert repeated_length == distinct_length == 3
assert repeated_is_one_layer  # witness: one-object
assert (repeated_parameters, distinct_parameters) == (72, 216)

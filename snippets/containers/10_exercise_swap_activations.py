"""Exercise: replace every ReLU in a nested model by GELU, by assigning on each parent."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

model = nn.Sequential(
    nn.Linear(8, 16),
    nn.ReLU(),
    nn.Sequential(nn.Linear(16, 16), nn.ReLU()),
    nn.Linear(16, 4),
).to(device)
parameters_before = sum(p.numel() for p in model.parameters())
names_before = [name for name, _ in model.named_modules()]

# Collect first: changing the tree while named_modules() walks it is asking for trouble.
targets = [name for name, module in model.named_modules() if isinstance(module, nn.ReLU)]
for name in targets:
    parent_name, _, child_name = name.rpartition(".")
    parent = model.get_submodule(parent_name)  # "" is the model itself
    setattr(parent, child_name, nn.GELU())  # assignment re-registers under the same name

replaced = ", ".join(targets)
names_after = [name for name, _ in model.named_modules()]
relu_left = sum(isinstance(m, nn.ReLU) for m in model.modules())
gelu_count = sum(isinstance(m, nn.GELU) for m in model.modules())
parameters_after = sum(p.numel() for p in model.parameters())
output_shape = tuple(model(torch.randn(2, 8).to(device)).shape)
print("replaced:", replaced)
print(model)
print(
    f"ReLU left: {relu_left}, GELU: {gelu_count},",
    f"parameters {parameters_before} -> {parameters_after}",
)

assert targets == ["1", "2.1"]
assert names_after == names_before and isinstance(model[1], nn.GELU)  # witness: same-place
assert (relu_left, gelu_count) == (0, 2)
assert parameters_before == parameters_after == 484
assert output_shape == (2, 4)

"""Exercise: replace every ReLU in a nested model by GELU, by assigning on each parent."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def relu_to_gelu(model: nn.Module) -> list[str]:
    # Collect first: changing the tree while named_modules() walks it is asking for trouble.
    # remove_duplicate=False lists a ReLU registered at two paths under both of them.
    modules = model.named_modules(remove_duplicate=False)
    # The model itself (name "") has no parent to assign on, so it is left out.
    targets = [name for name, module in modules if name and isinstance(module, nn.ReLU)]
    for name in targets:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)  # "" is the model itself
        setattr(parent, child_name, nn.GELU())  # assignment re-registers under the same name
    return targets


model = nn.Sequential(
    nn.Linear(8, 16),
    nn.ReLU(),
    nn.Sequential(nn.Linear(16, 16), nn.ReLU()),
    nn.Linear(16, 4),
).to(device)
parameters_before = sum(p.numel() for p in model.parameters())
names_before = [name for name, _ in model.named_modules()]
replaced = ", ".join(relu_to_gelu(model))
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

# One ReLU object at two paths: named_modules() lists it once, at its first path.
act = nn.ReLU()
shared = nn.Sequential(nn.Linear(8, 16), act, nn.Sequential(nn.Linear(16, 16), act))
listed_once = ", ".join(n for n, m in shared.named_modules() if isinstance(m, nn.ReLU))
shared_replaced = ", ".join(relu_to_gelu(shared))
shared_left = sum(isinstance(m, nn.ReLU) for m in shared.modules())
shared_split = shared[1] is not shared[2][1]  # one GELU per path: the sharing is gone
print(f"shared ReLU: named_modules() lists {listed_once}; replaced {shared_replaced}")
print(f"ReLU left: {shared_left}")
# A block used twice: its ReLU is replaced in that one block, so both paths share one GELU.
block = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
shared_block = nn.Sequential(block, block)
block_replaced = ", ".join(relu_to_gelu(shared_block))
block_gelu_shared = shared_block[0][1] is shared_block[1][1]
print(f"shared block: replaced {block_replaced}; one GELU at both paths: {block_gelu_shared}")

assert replaced == "1, 2.1"
assert names_after == names_before and isinstance(model[1], nn.GELU)  # witness: same-place
assert not [*nn.GELU().parameters(), *nn.GELU().buffers()]  # witness: gelu-stateless
assert (relu_left, gelu_count) == (0, 2)
assert parameters_before == parameters_after == 484
assert output_shape == (2, 4)
assert listed_once == "1" and shared_replaced == "1, 2.1"  # witness: shared-listed-twice
assert shared_left == 0  # witness: shared-replaced
assert shared_split  # witness: shared-split
one_gelu = block_gelu_shared and isinstance(block[1], nn.GELU)
assert block_replaced == "0.1, 1.1" and one_gelu  # witness: shared-block-one-gelu

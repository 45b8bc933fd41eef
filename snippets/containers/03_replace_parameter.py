"""Replacing a Parameter object cuts it off from an earlier optimizer; copying into it does not."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
new_weight = torch.full((1, 2), 0.5).to(device)
x = torch.ones(1, 2, device=device)


def train_one_step(replace: bool) -> tuple[bool, float]:
    layer = nn.Linear(2, 1).to(device)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    if replace:
        # A new tensor object: the optimizer still holds the old one.
        layer.weight = nn.Parameter(new_weight.clone())
    else:
        with torch.no_grad():
            layer.weight.copy_(new_weight)  # new values in the same tensor object
    optimizer.zero_grad()
    layer(x).sum().backward()  # d(sum)/d(weight) = x = [1, 1]
    optimizer.step()
    tracked = any(p is layer.weight for p in optimizer.param_groups[0]["params"])
    return tracked, layer.weight[0, 0].item()


replaced_tracked, replaced_after = train_one_step(replace=True)
copied_tracked, copied_after = train_one_step(replace=False)
print(
    f"layer.weight = nn.Parameter(...): optimizer tracks it: {replaced_tracked},",
    f"weight after a step {replaced_after:g}",
)
print(
    f"layer.weight.copy_(...):          optimizer tracks it: {copied_tracked},",
    f"weight after a step {copied_after:g}",
)

assert (replaced_tracked, copied_tracked) == (False, True)
assert replaced_after == 0.5  # the step updated the old, orphaned tensor instead
assert abs(copied_after - 0.4) < 1e-6  # 0.5 - 0.1 * 1

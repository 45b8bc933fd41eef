"""Replacing a Parameter object cuts it off from an earlier optimizer; copying into it does not."""

import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
new_weight = torch.full((1, 2), 0.5).to(device)
x = torch.ones(1, 2, device=device)


def train_one_step(how: str) -> dict:
    layer = nn.Linear(2, 1).to(device)
    old_weight = layer.weight  # the tensor object the optimizer is given
    old_values = old_weight.detach().clone()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    if how == "replace":
        layer.weight = nn.Parameter(new_weight.clone())  # a new tensor object
    elif how == "copy_":
        with torch.no_grad():
            layer.weight.copy_(new_weight)  # new values in the same tensor object
    else:
        nn.init.constant_(layer.weight, 0.5)  # nn.init also writes in place
    optimizer.zero_grad()
    layer(x).sum().backward()  # d(sum)/d(weight) = x = [1, 1]
    optimizer.step()
    held = optimizer.param_groups[0]["params"][0]  # the optimizer's entry for the weight
    return {
        "holds_old": held is old_weight,
        "tracked": any(p is layer.weight for p in optimizer.param_groups[0]["params"]),
        "old_grad": old_weight.grad,
        "old_unchanged": torch.equal(old_weight.detach(), old_values),
        "new_grad": layer.weight.grad,
        "after": layer.weight[0, 0].item(),
    }


copied, initialized = train_one_step("copy_"), train_one_step("nn.init")
with warnings.catch_warnings(record=True) as caught:  # record every warning the swap could raise
    warnings.simplefilter("always")
    replaced = train_one_step("replace")
replaced_after, copied_after, init_after = (r["after"] for r in (replaced, copied, initialized))
print(
    "layer.weight = nn.Parameter(...): optimizer tracks the new weight:",
    f"{replaced['tracked']}, weight after a step {replaced_after:g}",
)
print(
    "  the old tensor: grad",
    replaced["old_grad"],
    "| unchanged by the step:",
    replaced["old_unchanged"],
    "| warnings:",
    len(caught),
)
print(f"layer.weight.copy_(...):   tracked: {copied['tracked']}, after a step {copied_after:g}")
print(f"nn.init.constant_(...):    tracked: {initialized['tracked']}, after a step {init_after:g}")

assert replaced["holds_old"] and not replaced["tracked"]  # witness: optimizer-holds-old
assert replaced["old_grad"] is None  # witness: old-gets-no-grad
assert replaced["old_unchanged"]  # witness: old-unchanged
assert replaced["new_grad"] is not None and replaced_after == 0.5  # witness: new-not-stepped
assert not caught  # witness: no-warning
assert copied["tracked"] and copied["holds_old"]  # witness: copy-keeps-object
assert initialized["tracked"] and initialized["holds_old"]  # witness: init-keeps-object
assert abs(copied_after - 0.4) < 1e-6 and abs(init_after - 0.4) < 1e-6  # 0.5 - 0.1 * 1

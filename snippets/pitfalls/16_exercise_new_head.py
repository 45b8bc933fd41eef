"""Exercise: reuse a trained body under a new head of another size."""

import torch
from torch import nn


def make_model(classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, classes))


torch.manual_seed(0)
checkpoint = make_model(classes=3).state_dict()  # stands in for torch.load("body.pt")
model = make_model(classes=5)

head_before = model[2].weight.detach().clone(), model[2].bias.detach().clone()
own = model.state_dict()
compatible = {
    key: value for key, value in checkpoint.items() if key in own and own[key].shape == value.shape
}
skipped = sorted(set(checkpoint) - set(compatible))
result = model.load_state_dict(compatible, strict=False)
missing = ", ".join(result.missing_keys)
print("skipped from the checkpoint:", skipped)
print("left at their initial values:", missing)
body_loaded = torch.equal(model[0].weight, checkpoint["0.weight"]) and torch.equal(
    model[0].bias, checkpoint["0.bias"]
)
head_kept = all(map(torch.equal, head_before, (model[2].weight, model[2].bias)))
print("body weights and bias loaded:", body_loaded, " head unchanged by the load:", head_kept)

assert skipped == ["2.bias", "2.weight"] and missing == "2.weight, 2.bias"  # witness: only-head
assert body_loaded and result.unexpected_keys == []  # witness: body-loaded
assert head_kept  # witness: head-kept

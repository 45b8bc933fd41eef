"""A test helper that catches a parameter the optimizer no longer holds."""

import torch
from torch import nn


def parameters_not_in_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """The names of the model's trainable parameters that no param group holds, as objects."""
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in held]


def make_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))


torch.manual_seed(0)
model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
print("freshly built:", parameters_not_in_optimizer(model, optimizer))

# A reset that puts a new Parameter object under the old name.
model[0].weight = nn.Parameter(torch.zeros_like(model[0].weight))
after_assignment = parameters_not_in_optimizer(model, optimizer)
print("after model[0].weight = nn.Parameter(...):", after_assignment)

# The same reset written into the tensor the optimizer holds.
copied = make_model()
copied_optimizer = torch.optim.SGD(copied.parameters(), lr=0.1)
with torch.no_grad():
    copied[0].weight.copy_(torch.zeros_like(copied[0].weight))
after_copy = parameters_not_in_optimizer(copied, copied_optimizer)
print("after copy_ under torch.no_grad():", after_copy)

# A new Parameter holding a copy of the very values the optimizer holds: values cannot tell.
twin = make_model()
twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.1)
held_weight = twin[0].weight
twin[0].weight = nn.Parameter(held_weight.detach().clone())
same_values = torch.equal(twin[0].weight, held_weight)
after_twin = parameters_not_in_optimizer(twin, twin_optimizer)
print("after a new Parameter with the same values:", after_twin, "| values equal:", same_values)

# A frozen layer left out of the optimizer on purpose is not reported.
frozen = make_model()
frozen[2].requires_grad_(False)
frozen_optimizer = torch.optim.SGD([p for p in frozen.parameters() if p.requires_grad], lr=0.1)
with_frozen_layer = parameters_not_in_optimizer(frozen, frozen_optimizer)
print("a frozen last layer, left out of the optimizer:", with_frozen_layer)

# A load with assign=True puts new objects under every name.
copied.load_state_dict(make_model().state_dict(), assign=True)
after_assign_load = parameters_not_in_optimizer(copied, copied_optimizer)
print("after load_state_dict(..., assign=True):", after_assign_load)

assert after_assignment == ["0.weight"]  # witness: names-replaced-weight
assert after_copy == []  # witness: copy-passes
every_name = ["0.weight", "0.bias", "2.weight", "2.bias"]
assert after_assign_load == every_name  # witness: names-every-assigned-entry
assert same_values and after_twin == ["0.weight"]  # witness: values-cannot-tell
assert with_frozen_layer == []  # witness: skips-frozen

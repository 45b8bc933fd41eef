"""A state_dict shares storage with the model: training changes a state_dict taken earlier."""

import copy

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Linear(3, 1).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
X, y = torch.randn(8, 3).to(device), torch.randn(8, 1).to(device)

taken = model.state_dict()  # looks like a snapshot, but holds the model's own storage
deep_copy = copy.deepcopy(model.state_dict())  # a real snapshot
cloned = {key: value.clone() for key, value in model.state_dict().items()}  # also a real one

for step in range(3):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(X), y).backward()
    optimizer.step()

shares_storage = taken["weight"].data_ptr() == model.weight.data_ptr()
state_requires_grad = taken["weight"].requires_grad
taken_followed_training = torch.equal(taken["weight"], model.weight.detach())
copies_kept_old_values = torch.equal(deep_copy["weight"], cloned["weight"])
copies_differ_from_model = not torch.equal(deep_copy["weight"], model.weight.detach())
print("state_dict tensor shares the parameter's storage:", shares_storage)
print("state_dict tensor requires grad:", state_requires_grad)
print(f"after 3 steps, the early state_dict equals the trained weights: {taken_followed_training}")
kept_old_values = copies_kept_old_values and copies_differ_from_model
print("deepcopy and clone kept the old values:", kept_old_values)

# load_state_dict copies values into the existing parameters, so the optimizer still holds them.
weight_object = model.weight
model.load_state_dict(deep_copy)
same_parameter_object = model.weight is weight_object
restored_old_values = torch.equal(model.weight.detach(), cloned["weight"])
print("load_state_dict kept the same Parameter object:", same_parameter_object)
print("load_state_dict restored the old values:", restored_old_values)

# assign=True swaps in the loaded tensors instead: the optimizer now updates orphaned tensors.
model.load_state_dict(copy.deepcopy(deep_copy), assign=True)
optimizer_sees_model = optimizer.param_groups[0]["params"][0] is model.weight
print("after assign=True, the optimizer still points at the model's weight:", optimizer_sees_model)

assert shares_storage and not state_requires_grad and taken_followed_training
assert copies_kept_old_values and copies_differ_from_model
assert same_parameter_object and restored_old_values
assert not optimizer_sees_model

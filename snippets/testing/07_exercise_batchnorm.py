"""Exercise: check_module on Linear -> BatchNorm1d. The bias before batch norm never learns; without
it the check passes and leaves the running statistics untouched.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
with_bias = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)).to(device)
try:
    check_module(with_bias, input_shape=(4, 5), expected_output_shape=(4, 3))
    message = ""
except AssertionError as error:
    message = str(error)
print(message)

# In training mode batch norm subtracts the batch mean of each feature, and with it any constant
# added before it: the loss does not depend on the linear layer's bias at all.
model = nn.Sequential(nn.Linear(5, 3, bias=False), nn.BatchNorm1d(3)).to(device)
before = {key: value.clone() for key, value in model.state_dict().items()}
print(check_module(model, input_shape=(4, 5), expected_output_shape=(4, 3)))
unchanged = all(torch.equal(before[key], value) for key, value in model.state_dict().items())
print("state_dict unchanged:", unchanged, " still in training mode:", model.training)

# A part frozen with eval() stays frozen: the helper restores each submodule's own mode.
model[1].eval()
check_module(model, input_shape=(4, 5), expected_output_shape=(4, 3))
modes_after = [m.training for m in model.modules()]
print("modes after checking with a frozen batch norm (model, linear, batch norm):", modes_after)
model.train()

# Why check 5 runs in eval mode: in training mode the statistics come from the batch, so the
# first two examples give other outputs in a batch of 4 than in a batch of 2.
x = torch.randn(4, 5).to(device)
with torch.no_grad():
    train_mode_differs = not torch.allclose(model(x)[:2], model(x[:2]), atol=1e-5)
print(
    "training mode, first two examples in a batch of 4 vs alone as a pair differ:",
    train_mode_differs,
)

assert message == "Sequential: no gradient reached ['0.bias']"
assert unchanged and model.training and train_mode_differs
assert modes_after == [True, True, False]

"""`.data` hides tensors from autograd: gradients disappear, or are silently wrong."""

import torch
from torch import nn


class DataLinear(nn.Module):
    """D2L's MyLinear: reads .data in forward, so no gradient reaches its parameters."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.data + self.bias.data)


class FixedLinear(DataLinear):
    """The fix: the parameters themselves, without `.data`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight + self.bias)


torch.manual_seed(0)
x = torch.randn(4, 5)
try:  # alone, nothing in the output requires grad, so backward() has nothing to do
    DataLinear(5, 3)(x).sum().backward()
    alone_message = ""
except RuntimeError as error:
    alone_message = str(error)
print(f"RuntimeError: {alone_message}")

# After a normal layer there is no error at all: the gradient just never reaches DataLinear.
model = nn.Sequential(nn.Linear(5, 5), DataLinear(5, 3))
model(x).sum().backward()
weight_grad_is_none = model[1].weight.grad is None
print("in a model: first layer gets a gradient:", model[0].weight.grad is not None)
print("            DataLinear.weight.grad is None:", weight_grad_is_none)
fixed = nn.Sequential(nn.Linear(5, 5), FixedLinear(5, 3))
fixed(x).sum().backward()
fixed_gets_grad = fixed[1].weight.grad is not None and fixed[1].bias.grad is not None
print("with FixedLinear instead, its weight and bias get gradients:", fixed_gets_grad)

# Alone again, but with an input that requires grad (to compute input gradients): no error either.
inputs = x.clone().requires_grad_()
alone_layer = DataLinear(5, 3)
alone_layer(inputs).sum().backward()
input_only = inputs.grad is not None and alone_layer.weight.grad is None
print("input that requires grad: input gets a gradient, the weight none:", input_only)

# Worse: an in-place change through .data is invisible to autograd's version check, so backward
# uses the changed values and returns a wrong gradient without any error.
x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
s = torch.sigmoid(x)
correct = (s * (1 - s)).detach()  # d sigmoid(x) / dx
same_storage = s.data.data_ptr() == s.data_ptr() and not s.data.requires_grad
version = s._version  # autograd's counter of in-place changes to s
s.data.mul_(2)
data_edit_unseen = s._version == version
s.sum().backward()
data_grad_correct = torch.allclose(x.grad, correct)
edited = s.detach()
uses_edited_values = torch.allclose(x.grad, edited * (1 - edited))  # sigmoid's backward reads s
print("gradient after editing through .data is correct:", data_grad_correct)
print("it was computed from the edited values:", uses_edited_values)

# With .detach() the same edit is caught, because detach() shares the version counter.
x.grad = None
s = torch.sigmoid(x)
version = s._version
s.detach().mul_(2)
detach_edit_seen = s._version > version
try:
    s.sum().backward()
    message = ""
except RuntimeError as error:
    message = str(error)
print(f"RuntimeError: {message.split(': [')[0]} [...]")

assert alone_message.startswith("element 0 of tensors does not require grad")  # witness: alone
assert weight_grad_is_none and model[0].weight.grad is not None  # witness: never-reached
assert fixed_gets_grad  # witness: fix-gets-grad
assert input_only  # witness: input-grad-hides
assert same_storage  # witness: same-storage
assert data_edit_unseen and not data_grad_correct and uses_edited_values  # witness: silent-edit
assert detach_edit_seen and message.startswith(  # witness: detach-caught
    "one of the variables needed for gradient computation has been modified by an inplace"
)

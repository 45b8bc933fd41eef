"""check_module on the guide's custom layers; it catches D2L's `.data` MyLinear.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CenteredLayer(nn.Module):
    """Subtracts each example's mean over its features. It has no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class MyLinear(nn.Module):
    """A linear layer followed by ReLU, with its own weight and bias parameters."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight + self.bias)


class DataMyLinear(MyLinear):
    """D2L's version: `.data` hands forward the raw values, outside autograd's view."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.data + self.bias.data)


torch.manual_seed(0)
print(check_module(CenteredLayer().to(device), input_shape=(4, 5), expected_output_shape=(4, 5)))
print(check_module(MyLinear(5, 3).to(device), input_shape=(4, 5), expected_output_shape=(4, 3)))

broken = DataMyLinear(5, 3).to(device)
try:
    check_module(broken, input_shape=(4, 5), expected_output_shape=(4, 3))
    message = ""
except AssertionError as error:
    message = str(error)
print(f"AssertionError: {message}")

# The wrong shape is caught too: a layer built with 4 outputs where 3 were expected.
try:
    check_module(MyLinear(5, 4).to(device), input_shape=(4, 5), expected_output_shape=(4, 3))
    shape_message = ""
except AssertionError as error:
    shape_message = str(error)
print(f"AssertionError: {shape_message}")

assert message == "DataMyLinear: no gradient reached ['bias', 'weight']"
assert shape_message == "MyLinear: output shape (4, 4), expected (4, 3)"
assert broken.weight.grad is None and broken.training  # the check left the module as it found it

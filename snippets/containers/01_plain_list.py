"""Layers kept in a plain Python list still run, but the module cannot see them."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:classes]
class ListMLP(nn.Module):
    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(widths, widths[1:])]  # a plain list

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


class ModuleListMLP(ListMLP):
    def __init__(self, widths: list[int]) -> None:
        super().__init__(widths)
        self.layers = nn.ModuleList(self.layers)  # the same layers, now registered


# --8<-- [end:classes]
widths = [8, 16, 16, 4]
torch.manual_seed(0)
hidden = ListMLP(widths)
X = torch.randn(2, 8)
output_shape = tuple(hidden(X).shape)  # forward works: Python finds the list as usual
hidden_parameters = sum(p.numel() for p in hidden.parameters())
hidden_state_keys = len(hidden.state_dict())
print(
    f"ListMLP: output {output_shape},",
    f"{hidden_parameters} parameters, {hidden_state_keys} state_dict entries",
)

try:
    torch.optim.SGD(hidden.parameters(), lr=0.1)
except ValueError as error:
    message = str(error)
    print(f"{type(error).__name__}: {error}")

# Module-wide operations skip the hidden layers too.
hidden.to(torch.float64)
hidden_dtype_after = str(hidden.layers[0].weight.dtype)
hidden.eval()
hidden_layer_training = hidden.layers[0].training
print(
    "after .to(torch.float64) and .eval():",
    f"weight is {hidden_dtype_after}, layer training={hidden_layer_training}",
)

registered = ModuleListMLP(widths).to(device)
registered_parameters = sum(p.numel() for p in registered.parameters())
registered_state_keys = len(registered.state_dict())
optimizer = torch.optim.SGD(registered.parameters(), lr=0.1)
print(
    f"ModuleListMLP: {registered_parameters} parameters,",
    f"{registered_state_keys} state_dict entries, optimizer built",
)

assert output_shape == (2, 4)
assert (hidden_parameters, hidden_state_keys) == (0, 0)
assert message.startswith("optimizer got an empty parameter list")
assert hidden_dtype_after == "torch.float32" and hidden_layer_training
assert registered_parameters == (8 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4) == 484
assert registered_state_keys == 6
assert all(p.device.type == device.type for p in registered.parameters())

"""A layer without parameters: subtract the mean over the last dimension (each row's mean)."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CenteredLayer(nn.Module):
    """y = x - mean(x) over the last dimension. No arguments and no state: no __init__ needed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


layer = CenteredLayer()
small = layer(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=device))
print("centered [1, 2, 3, 4, 5]:", small.tolist())

# It composes like any built-in layer.
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 128), CenteredLayer()).to(device)
Y = model(torch.rand(4, 8).to(device))
largest_row_mean = Y.mean(dim=-1).abs().max().item()
layer_parameters = sum(p.numel() for p in layer.parameters())
layer_state_entries = len(layer.state_dict())
model_parameters = sum(p.numel() for p in model.parameters())
print(f"output shape {tuple(Y.shape)}, largest |row mean| below 1e-5: {largest_row_mean < 1e-5}")
print(
    f"CenteredLayer: {layer_parameters} parameter values, {layer_state_entries} state_dict entries"
)
print(f"whole model: {model_parameters} parameter values, all from the Linear layer")

no_init = "__init__" not in vars(CenteredLayer)  # nn.Module's __init__ serves
assert no_init and small.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]  # witness: centers-without-init
assert largest_row_mean < 1e-5  # witness: rows-average-zero
assert layer_parameters == 0 and layer_state_entries == 0
assert model_parameters == 8 * 128 + 128 == 1152

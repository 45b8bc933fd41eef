"""A small network end to end: custom layer, model class, initialization, saving and restoring."""

import tempfile
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:layer]
class CenteredLayer(nn.Module):
    """Subtracts each example's mean over its features. It has no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


# --8<-- [end:layer]
# --8<-- [start:model]
class SmallNet(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, d_out),
            CenteredLayer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        # He (Kaiming) initialization, scaled for the ReLU that follows the hidden layer
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:  # a Linear built with bias=False has none
            nn.init.zeros_(module.bias)


# --8<-- [end:model]
# --8<-- [start:use]
torch.manual_seed(0)
model = SmallNet(10, 8, 3)
model.apply(init_weights)
model.to(device)

X = torch.randn(4, 10).to(device)  # drawn on the CPU, so every device sees the same batch
Y = model(X)  # in training mode, the default
output_shape = tuple(Y.shape)
parameter_count = sum(p.numel() for p in model.parameters())
print("output shape:", output_shape, " parameters:", parameter_count)
print("every row of the output averages to zero:", Y.mean(dim=-1).abs().max().item() < 1e-6)

with tempfile.TemporaryDirectory() as folder:
    checkpoint = Path(folder) / "small_net.pt"
    torch.save(model.state_dict(), checkpoint)
    restored = SmallNet(10, 8, 3)
    loaded = torch.load(checkpoint, map_location="cpu")
    restored.load_state_dict(loaded)
restored.to(device).eval()
model.eval()

with torch.no_grad():
    same_outputs = torch.equal(model(X), restored(X))
    eval_changes_nothing = torch.allclose(model(X), Y)  # no dropout, no batch norm
state_keys = list(restored.state_dict())
state_key_count, state_key_names = len(state_keys), ", ".join(state_keys)
print("state_dict keys:", state_key_names)
print("restored model gives the same outputs:", same_outputs)
# --8<-- [end:use]

# init_weights also handles a layer without a bias.
no_bias = nn.Linear(10, 8, bias=False)
no_bias.apply(init_weights)
no_bias_initialized = no_bias.bias is None and no_bias.weight.abs().max().item() > 0
print("init_weights on Linear(10, 8, bias=False) runs:", no_bias_initialized)

assert output_shape == (4, 3) and parameter_count == 115
assert len(list(CenteredLayer().parameters())) == 0  # witness: no-parameters
assert torch.allclose(Y.mean(dim=-1), torch.zeros(4, device=device), atol=1e-6)  # witness: centered
linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
zero_biases = [bool(torch.all(layer.bias == 0)) for layer in linears]
assert zero_biases == [True, True]  # witness: applied
assert {p.device.type for p in model.parameters()} == {device.type}  # witness: reaches-inside
assert state_key_count == 4
assert state_key_names == "layers.0.weight, layers.0.bias, layers.2.weight, layers.2.bias"
assert all(t.device.type == "cpu" for t in loaded.values())  # witness: loaded-on-cpu
assert same_outputs and not restored.training  # witness: restored-agrees
assert eval_changes_nothing  # witness: eval-no-change
assert no_bias_initialized  # witness: no-bias-ok

"""nn.Buffer: registering a buffer by assignment, and what later assignments do."""

import torch
from torch import nn


class Standardize(nn.Module):
    """Subtracts a stored mean and divides by a stored standard deviation, per feature."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.mean = nn.Buffer(torch.zeros(num_features))  # same as register_buffer("mean", ...)
        self.std = nn.Buffer(torch.ones(num_features))
        self.eps = nn.Buffer(torch.tensor(1e-6), persistent=False)
        self.note = torch.zeros(num_features)  # a plain tensor: NOT registered

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> None:
        # Assigning a tensor to a name that is already a buffer replaces the buffer's value;
        # the name stays a buffer and keeps its persistence.
        self.mean = data.mean(dim=0)
        self.std = data.std(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / (self.std + self.eps)


torch.manual_seed(0)
data = torch.randn(100, 3) * torch.tensor([1.0, 10.0, 100.0]) + 5.0
layer = Standardize(3)
layer.fit(data)

buffers_text = ", ".join(name for name, _ in layer.named_buffers())
state_text = ", ".join(layer.state_dict())
print("named_buffers():", buffers_text)
print("state_dict():   ", state_text)
print("fitted mean:", [round(v, 2) for v in layer.mean.tolist()])

standardized = layer(data)
largest_mean = standardized.mean(dim=0).abs().max().item()
print(f"after standardizing: largest |column mean| = {largest_mean:.1e}")
print("column standard deviations:", [round(v, 4) for v in standardized.std(dim=0).tolist()])

note_registered = "note" in dict(layer.named_buffers())
mean_still_buffer = "mean" in dict(layer.named_buffers())
eps_saved = "eps" in layer.state_dict()

assert buffers_text == "mean, std, eps" and state_text == "mean, std"
assert mean_still_buffer and not note_registered and not eps_saved
assert largest_mean < 1e-4
assert torch.allclose(standardized.std(dim=0), torch.ones(3), atol=1e-4)

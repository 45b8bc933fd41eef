"""nn.Buffer: registering a buffer by assignment, and what later assignments do."""

import torch
from torch import nn


class Standardize(nn.Module):
    """Subtracts a stored mean and divides by a stored standard deviation, per feature."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.mean = nn.Buffer(torch.zeros(num_features))  # like register_buffer("mean", ...)
        self.std = nn.Buffer(torch.ones(num_features))
        self.eps = nn.Buffer(torch.tensor(1e-6), persistent=False)
        self.note = torch.zeros(num_features)  # a plain tensor: NOT registered

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> None:
        # copy_ writes into the existing buffers, so they keep their dtype and device.
        self.mean.copy_(data.mean(dim=0))
        self.std.copy_(data.std(dim=0))

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

# Assigning a tensor to a name that is already a buffer keeps it a buffer, with the same
# persistence, but the buffer becomes that tensor, with its dtype (and device).
wide = Standardize(3).double()
wide.fit(data)  # float32 data, copied into float64 buffers
fitted_dtype = str(wide.mean.dtype)
wide.mean = data.mean(dim=0)  # the float32 tensor itself replaces the float64 buffer
wide.eps = torch.tensor(1e-5)
assigned_dtype = str(wide.mean.dtype)
still_buffers = {"mean", "eps"} <= set(dict(wide.named_buffers()))
persistence_kept = "mean" in wide.state_dict() and "eps" not in wide.state_dict()
print(f"float64 layer: after fit {fitted_dtype}, after assigning float32 data {assigned_dtype}")
print("mean and eps still buffers:", still_buffers, " persistence kept:", persistence_kept)

# nn.Buffer stores a detached tensor: a new object on the same memory, without autograd history.
source = torch.zeros(3)
probe = nn.Module()
probe.assigned = nn.Buffer(source)
probe.register_buffer("registered", source)
buffer_is_source = probe.assigned is source
registered_is_source = probe.registered is source
print("nn.Buffer(t) is t:", buffer_is_source, " register_buffer keeps t:", registered_is_source)

assert buffers_text == "mean, std, eps" and state_text == "mean, std"
assert not note_registered and "eps" not in layer.state_dict()
assert largest_mean < 1e-4
assert torch.allclose(standardized.std(dim=0), torch.ones(3), atol=1e-4)
assert (fitted_dtype, assigned_dtype) == ("torch.float64", "torch.float32")
assert still_buffers and persistence_kept
assert not buffer_is_source and registered_is_source
assert probe.assigned.data_ptr() == source.data_ptr()

"""forward is ordinary Python: it may reuse a layer, branch on a shape and loop on a value."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class FixedMixMLP(nn.Module):
    """One trainable layer, used twice around a fixed random mixing matrix."""

    def __init__(self, width: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(width, width)
        mix = torch.rand(width, width, generator=torch.Generator().manual_seed(seed))
        # A buffer follows .to() like a parameter but is not trained. The constructor rebuilds
        # it from the seed, so it is kept out of the state_dict (persistent=False).
        self.register_buffer("mix", mix, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 1
        if unbatched:  # a branch on the input's shape: accept a single example too
            x = x.unsqueeze(0)
        x = self.linear(x)
        x = torch.relu(x @ self.mix + 1)
        x = self.linear(x)  # the same layer again: both uses share its weight and bias
        while x.abs().sum() > 1:  # a loop whose length depends on the values
            x = x / 2
        return x.squeeze(0) if unbatched else x


# --8<-- [end:class]
torch.manual_seed(0)
model = FixedMixMLP().to(device)
X = torch.randn(3, 16).to(device)
Y = model(X)
output_shape = tuple(Y.shape)
single_shape = tuple(model(X[0]).shape)
l1_norm = Y.abs().sum().item()
print(f"batch output {output_shape}, single example output {single_shape}, |Y|_1 = {l1_norm:.3f}")

parameter_count = sum(p.numel() for p in model.parameters())
buffer_count = sum(b.numel() for b in model.buffers())
state_keys = list(model.state_dict())
state_keys_text = ", ".join(state_keys)
print(
    "parameters:",
    parameter_count,
    " buffer elements:",
    buffer_count,
    " state_dict keys:",
    state_keys_text,
)

# The loop tests the sum over the whole batch, so one example's output depends on its batch-mates.
same_alone_as_in_batch = torch.allclose(model(X[0]), Y[0])
print("example 0 gives the same output alone as in the batch:", same_alone_as_in_batch)

# The buffer converts with the module, so the forward pass still works in float64.
model.to(torch.float64)
mix_dtype = str(model.mix.dtype)
works_in_float64 = model(X.double()).dtype == torch.float64
print("after model.to(torch.float64): mix is", mix_dtype, " forward works:", works_in_float64)

assert output_shape == (3, 16) and single_shape == (16,)
assert 0.5 < l1_norm <= 1  # the loop halved until the sum fell to 1 or below
assert parameter_count == 16 * 16 + 16 == 272 and buffer_count == 256
assert state_keys == ["linear.weight", "linear.bias"]
assert not same_alone_as_in_batch
assert mix_dtype == "torch.float64" and works_in_float64
assert model.mix.device.type == device.type

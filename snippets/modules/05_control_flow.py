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
mix_is_parameter = any(p is model.mix for p in model.parameters())
mix_device = model.mix.device.type  # the buffer moved with .to(device)
rebuilt_same = torch.equal(FixedMixMLP().mix, model.mix.cpu())  # same seed, same matrix
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

# The loop tests the sum over the whole batch, so one example's output depends on its batch-mates:
# alone, example 0 is halved fewer times, so its output is 2**k times the batched one.
alone = model(X[0])
same_alone_as_in_batch = torch.allclose(alone, Y[0])
k = round(torch.log2(alone.abs().sum() / Y[0].abs().sum()).item())
scaled = Y[0] * 2**k
print(f"example 0 alone gives {2**k} x its output in the batch: halved {k} time(s) fewer")

# The buffer converts with the module, so the forward pass still works in float64.
# float64 on the CPU: some accelerators (Apple's MPS) have no float64.
model.to("cpu", torch.float64)
mix_dtype = str(model.mix.dtype)
works_in_float64 = model(X.cpu().double()).dtype == torch.float64
print("on the CPU in float64: mix is", mix_dtype, " forward works:", works_in_float64)

assert output_shape == (3, 16) and single_shape == (16,)
assert 0.5 < l1_norm <= 1  # the loop halved until the sum fell to 1 or below
assert parameter_count == 16 * 16 + 16 == 272 and buffer_count == 256
assert not mix_is_parameter  # witness: buffer-not-parameter
assert mix_device == device.type  # witness: buffer-moves
assert state_keys == ["linear.weight", "linear.bias"]  # witness: non-persistent
assert rebuilt_same  # witness: rebuilt-from-seed
assert not same_alone_as_in_batch  # witness: coupled
assert k >= 1 and torch.allclose(alone, scaled, rtol=1e-4, atol=1e-6)  # witness: fewer-halvings
assert mix_dtype == "torch.float64" and works_in_float64  # witness: buffer-converts

"""Exercise: a layer that adds Gaussian noise in training mode and nothing in evaluation mode."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


class GaussianNoise(nn.Module):
    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn_like(x)  # noise made on x's device, in x's dtype

    def extra_repr(self) -> str:
        return f"std={self.std}"


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 4), GaussianNoise(0.5)).to(device)
x = torch.randn(1000, 4).to(device)

noise = model[1](x) - x  # training mode: the noise alone
noise_std = noise.std().item()
model.eval()
eval_is_identity = model[1](x) is x
with torch.no_grad():
    deterministic = torch.equal(model(x), model(x))
print(model)
print(f"training mode: noise std {noise_std:.3f}")
print(f"evaluation mode: identity {eval_is_identity}, deterministic {deterministic}")

# randn_like makes the noise like the input: same device, same dtype.
noise_layer = GaussianNoise(0.5)
on_meta = noise_layer(torch.ones(2, 4, device="meta"))
in_half = noise_layer(torch.ones(2, 4, dtype=torch.float16))
print("noise on a meta input:", on_meta.device, "| on a float16 input:", in_half.dtype)

assert abs(noise_std - 0.5) < 0.05  # witness: noise-std
assert eval_is_identity and deterministic  # witness: deterministic
assert on_meta.device.type == "meta" and in_half.dtype == torch.float16  # witness: like-input

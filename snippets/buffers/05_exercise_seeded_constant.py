"""Exercise: a constant the constructor can rebuild exactly, kept as a non-persistent buffer."""

import copy
import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class FixedHiddenMLP(nn.Module):
    def __init__(self, constant_seed: int = 1234) -> None:
        super().__init__()
        # A private generator: the constant depends on constant_seed only, not on the global stream.
        generator = torch.Generator().manual_seed(constant_seed)
        self.register_buffer("constant", torch.rand(8, 8, generator=generator), persistent=False)
        self.linear = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.linear(x) @ self.constant + 1)
        return self.linear(hidden).sum(dim=1)


torch.manual_seed(0)
trained = FixedHiddenMLP()
checkpoint = io.BytesIO()
torch.save(trained.state_dict(), checkpoint)
checkpoint.seek(0)

torch.manual_seed(1)  # another process, another global random stream
restored = FixedHiddenMLP()
restored.load_state_dict(torch.load(checkpoint))

x = torch.rand(2, 8)
same_after_reload = torch.equal(trained(x), restored(x))  # same weights and constant: same bits
same_constant = torch.equal(trained.constant, restored.constant)
saved_keys = ", ".join(trained.state_dict())
print("state_dict():", saved_keys)
print("same constant and same outputs after reload:", same_constant, same_after_reload)
converted = copy.deepcopy(trained).double()  # a copy: trained itself stays float32
print("a converted copy's constant:", converted.constant.dtype)

if device.type != "cpu":  # both generators seeded with 0: another stream
    cpu_draw = torch.rand(8, 8, generator=torch.Generator().manual_seed(0))
    device_draw = torch.rand(8, 8, generator=torch.Generator(device).manual_seed(0), device=device)
    assert not torch.equal(device_draw.cpu(), cpu_draw)  # witness: device-draws-differ

assert saved_keys == "linear.weight, linear.bias"  # witness: only-linear-saved
assert same_constant  # witness: seed-rebuilds-constant
assert same_after_reload  # witness: same-after-reload
assert converted.constant.dtype == torch.float64

"""module.to() moves parameters and buffers; a tensor kept as a plain attribute stays behind."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(3))  # learned; moved and saved
        self.register_buffer("scale", torch.full((3,), 2.0))  # not learned; moved and saved
        self.register_buffer("offset", torch.ones(3), persistent=False)  # moved, not saved
        self.plain = torch.ones(3)  # a plain attribute: .to() never sees it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight * self.scale + self.offset + self.plain


def devices_of(model: Scaled) -> dict[str, str]:
    names = ("weight", "scale", "offset", "plain")
    return {name: str(getattr(model, name).device) for name in names}


model = Scaled().to(device)
print(f"after .to({device}):", devices_of(model))
x = torch.ones(2, 3, device=device)
try:
    model(x)
    on_device = "forward runs"
except RuntimeError as error:
    on_device = f"{type(error).__name__}: {error}".splitlines()[0]
print("forward on", device, "->", on_device)

# On a machine without a GPU the bug above hides. Moving to "meta" shows it anywhere.
meta_model = Scaled().to("meta")
print("after .to('meta'):", devices_of(meta_model))
plain_stayed = meta_model.plain.device.type == "cpu"
try:
    meta_model(torch.ones(2, 3, device="meta"))
except RuntimeError as error:
    message = f"{type(error).__name__}: {error}".splitlines()[0]
print("forward on meta ->", message)

state_keys = list(model.state_dict())
saved = ", ".join(state_keys)
print("state_dict keys:", saved)

assert all(d.startswith(device.type) for name, d in devices_of(model).items() if name != "plain")
assert devices_of(meta_model) == {  # witness: buffers-move
    "weight": "meta",
    "scale": "meta",
    "offset": "meta",
    "plain": "cpu",
}
assert plain_stayed  # witness: plain-stays
assert "is not on the expected device" in message  # witness: meta-forward-fails
if device.type == "cpu":
    assert on_device == "forward runs"  # witness: cpu-forward-runs
else:
    assert on_device.startswith("RuntimeError")  # witness: device-forward-fails
    if device.type == "cuda":
        assert "cuda:0" in on_device and "cpu" in on_device  # witness: names-cuda-and-cpu
assert state_keys == ["weight", "scale"]  # witness: non-persistent-not-saved

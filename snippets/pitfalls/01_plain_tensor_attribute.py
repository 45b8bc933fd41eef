"""A tensor attribute is not a parameter: not listed, not trained, not saved, not converted."""

import torch
from torch import nn


class PlainScale(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.scale = torch.ones(features, requires_grad=True)  # the mistake: a plain tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Scale(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(features))  # the fix: registered as a parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


plain, fixed = PlainScale(3), Scale(3)
plain_parameters = len(list(plain.parameters()))
fixed_parameters = len(list(fixed.parameters()))
plain_keys = ", ".join(plain.state_dict()) or "(none)"
fixed_keys = ", ".join(fixed.state_dict()) or "(none)"
print(f"PlainScale: {plain_parameters} parameter tensors, state_dict keys: {plain_keys}")
print(f"Scale:      {fixed_parameters} parameter tensor,  state_dict keys: {fixed_keys}")

# Training: autograd computes the plain tensor's gradient, but no optimizer holds the tensor.
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 3), PlainScale(3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model(torch.randn(4, 3)).pow(2).sum().backward()
optimizer.step()
scale = model[1].scale
gradient_computed = scale.grad is not None
scale_unchanged = torch.equal(scale, torch.ones(3))
print("plain tensor: gradient computed:", gradient_computed, " value unchanged:", scale_unchanged)

# Module.to() converts parameters and buffers only; the plain tensor keeps its dtype and device.
plain.to(torch.float64)
fixed.to(torch.float64)
plain_dtype, fixed_dtype = str(plain.scale.dtype), str(fixed.scale.dtype)
print(f"after .to(torch.float64): PlainScale.scale is {plain_dtype}, Scale.scale is {fixed_dtype}")

# The meta device (shapes and dtypes, no data) shows the device half on any machine.
meta_plain, meta_fixed = PlainScale(3).to("meta"), Scale(3).to("meta")
meta_devices = (meta_plain.scale.device.type, meta_fixed.scale.device.type)
print(f"after .to('meta'): PlainScale.scale on {meta_devices[0]}, Scale.scale on {meta_devices[1]}")

scalar = PlainScale(3)
scalar.scale = torch.tensor(2.0, requires_grad=True)  # 0-dim
scalar.to("meta")

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
on_device = PlainScale(3).to(device)
if device.type != "cpu":  # on a machine without an accelerator, .to("cpu") has nothing to move
    print(f"after .to({device.type!r}): PlainScale.scale is on {on_device.scale.device.type}")
errors = {}  # the input on meta or on the device, the tensor on the CPU
runs = [("meta", meta_plain, "meta"), ("0-dim", scalar, "meta"), (device.type, on_device, device)]
runs += [("0-dim on " + device.type, scalar, device)] if device.type != "cpu" else []
for name, module, where in runs:
    try:
        module(torch.ones(2, 3, device=where))
    except RuntimeError as error:
        errors[name] = str(error).splitlines()[0]
no_error = [name for name, *_ in runs if name not in errors]
print("forward pass errors:", errors, " no error:", no_error)

assert (plain_parameters, fixed_parameters) == (0, 1)  # witness: not-listed
assert plain_keys == "(none)" and fixed_keys == "scale"  # witness: not-saved
assert gradient_computed and scale_unchanged  # witness: grad-but-no-update
assert (plain_dtype, fixed_dtype) == ("torch.float32", "torch.float64")  # witness: not-converted
assert meta_devices == ("cpu", "meta")  # witness: left-on-cpu
assert errors.get("meta", "").startswith("Tensor on device cpu")  # witness: meta-forward-fails
assert scalar.scale.device.type == "cpu" and "0-dim" not in errors  # witness: zero-dim-passes
if device.type == "cuda":
    assert on_device.scale.device.type == "cpu"  # witness: left-on-cpu-by-gpu
    assert "same device" in errors.get("cuda", "")  # witness: gpu-forward-fails
    assert "0-dim on cuda" not in errors  # witness: gpu-zero-dim-passes
elif device.type == "cpu":
    assert "cpu" not in errors  # witness: cpu-forward-runs

"""Assignment registers by type: Parameter -> parameter, Module -> child, plain tensor -> none."""

import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))  # registered as a parameter
        self.layer = nn.Linear(3, 3)  # registered as a child module
        self.register_buffer("count", torch.zeros(()))  # registered as a buffer
        self.mix = torch.eye(3)  # a plain attribute: the module does not know about it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.layer(x) @ self.mix) * self.scale


model = Mixed()
parameter_names = ", ".join(name for name, _ in model.named_parameters())
child_names = ", ".join(name for name, _ in model.named_children())
buffer_names = ", ".join(name for name, _ in model.named_buffers())
state_keys = ", ".join(model.state_dict())
print("parameters:", parameter_names)
print("children:  ", child_names)
print("buffers:   ", buffer_names)
print("state_dict:", state_keys)
mix_in_state = "mix" in model.state_dict()
mix_registered = any(t is model.mix for t in [*model.parameters(), *model.buffers()])
# Reading an attribute back works the same way, however it was stored.
read_back = [type(getattr(model, name)).__name__ for name in ("scale", "layer", "count", "mix")]
print("read back:", read_back)

# .to() converts what is registered; the plain tensor stays as it was, and forward breaks.
model.to(torch.float64)
scale_dtype, count_dtype, mix_dtype = (
    str(model.scale.dtype),
    str(model.count.dtype),
    str(model.mix.dtype),
)
print(f"after .to(torch.float64): scale {scale_dtype}, count {count_dtype}, mix {mix_dtype}")
try:
    model(torch.ones(1, 3, dtype=torch.float64))
except RuntimeError as error:
    forward_message = str(error)
    print(f"{type(error).__name__}: {error}")

# A move skips the plain tensor too. The "meta" device (shapes and dtypes, no data) shows it on
# any machine; on a GPU, the forward pass then mixes devices.
on_meta = Mixed().to("meta")
meta_devices = (on_meta.layer.weight.device.type, on_meta.mix.device.type)
moved = Mixed().to(device)
mix_device = moved.mix.device.type
print(f"after .to('meta'): layer.weight on {meta_devices[0]}, mix on {meta_devices[1]}")
print(f"after .to({device.type!r}): mix on {mix_device}")
if device.type == "cuda":
    device_message = ""
    try:
        moved(torch.ones(1, 3, device=device))
    except RuntimeError as error:
        device_message = str(error)
        print(f"{type(error).__name__}: {device_message.splitlines()[0]}")
    same_device = "Expected all tensors to be on the same device"
    assert device_message.startswith(same_device)  # witness: device-mismatch

# A name that holds a plain attribute refuses to become a buffer, until the attribute is deleted.
fixed, buffer_message = Mixed(), ""
try:
    fixed.mix = nn.Buffer(fixed.mix)
except KeyError as error:
    buffer_message = str(error)
    print(f"fixed.mix = nn.Buffer(fixed.mix): KeyError: {error}")
del fixed.mix
fixed.mix = nn.Buffer(torch.eye(3))  # accepted once the plain attribute is gone
mix_now_buffer = "mix" in dict(fixed.named_buffers())

# A name already registered as a parameter accepts only a Parameter, or None.
try:
    model.layer.weight = torch.zeros(3, 3)
except TypeError as error:
    error_name, message = type(error).__name__, str(error)
    print(f"{error_name}: {error}")
no_bias = nn.Linear(3, 3)
no_bias.bias = None  # accepted: the layer now has no bias tensor
none_accepted = no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
other_refusals = []  # a module or a number under a parameter's name: refused alike
for value in (nn.Linear(3, 3), 3):
    try:
        no_bias.weight = value
    except TypeError as error:
        other_refusals.append(str(error).endswith("(torch.nn.Parameter or None expected)"))
print("after layer.bias = None: parameters", [name for name, _ in no_bias.named_parameters()])
print("a Linear, then 3, under a parameter's name: refused", other_refusals)

# A child's name refuses a plain tensor too, but a Parameter silently replaces the child.
try:
    model.layer = torch.zeros(3, 3)
except TypeError as error:
    child_message = str(error)
    print(f"{type(error).__name__}: {error}")
with warnings.catch_warnings(record=True) as swap_caught:  # record any warning the swap raises
    warnings.simplefilter("always")
    model.layer = nn.Parameter(torch.zeros(3, 3))
children_after = [name for name, _ in model.named_children()]
child_count_after = len(children_after)
print("after model.layer = nn.Parameter(...): children", children_after, end=", ")
print("warnings", len(swap_caught))

# A buffer's name accepts a new plain tensor, and it stays a buffer.
model.count = torch.full((), 5.0)
buffers_after = {name: t.item() for name, t in model.named_buffers()}
print("after model.count = torch.full((), 5.0): buffers", buffers_after)
# But a buffer's name gives way to a Parameter, as a child's name does, or to a module.
taken_by, takeover_warnings = {}, []
for value in (nn.Parameter(torch.ones(1)), nn.Linear(1, 1)):
    holder = nn.Module()
    holder.register_buffer("count", torch.zeros(()))
    with warnings.catch_warnings(record=True) as caught:  # none: silent
        warnings.simplefilter("always")
        holder.count = value
    takeover_warnings += caught
    kinds = [("buffers", holder.named_buffers), ("parameters", holder.named_parameters)]
    kinds += [("children", holder.named_children)]
    taken_by[type(value).__name__] = {
        kind: [name for name, _ in listed()] for kind, listed in kinds
    }
print("a buffer's name, assigned a Parameter, then a Linear:", *taken_by.values())

assert parameter_names == "scale, layer.weight, layer.bias"
assert child_names == "layer" and buffer_names == "count"
assert state_keys == "scale, count, layer.weight, layer.bias"
assert not mix_in_state and not mix_registered  # witness: mix-unregistered
assert read_back == ["Parameter", "Linear", "Tensor", "Tensor"]  # witness: read-back
assert (scale_dtype, count_dtype, mix_dtype) == ("torch.float64", "torch.float64", "torch.float32")
assert "dtype" in forward_message
assert meta_devices == ("meta", "cpu") and mix_device == "cpu"  # witness: mix-stays-on-cpu
assert message.startswith("cannot assign") and "as parameter 'weight'" in message
assert message.endswith("(torch.nn.Parameter or None expected)")  # witness: no-demotion
assert (
    message.endswith("or None expected)") and none_accepted and other_refusals == [True, True]
)  # witness: parameter-or-none
assert error_name == "TypeError"
assert "(torch.nn.Module or None expected)" in child_message
child_replaced = child_count_after == 0 and isinstance(model.layer, nn.Parameter)
assert child_replaced and not swap_caught  # witness: child-replaced
assert buffers_after == {"count": 5.0}  # witness: buffer-stays
by_parameter = taken_by["Parameter"] == {"buffers": [], "parameters": ["count"], "children": []}
module_kinds = {"buffers": [], "parameters": ["count.weight", "count.bias"], "children": ["count"]}
by_module = taken_by["Linear"] == module_kinds
assert by_parameter and by_module and not takeover_warnings  # witness: buffer-name-gives-way
buffer_refused = "attribute 'mix' already exists" in buffer_message
assert buffer_refused and mix_now_buffer  # witness: plain-refuses-buffer

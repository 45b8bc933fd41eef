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
    assert "device" in device_message  # witness: device-mismatch

# A name already registered as a parameter accepts only a Parameter, or None.
try:
    model.layer.weight = torch.zeros(3, 3)
except TypeError as error:
    error_name, message = type(error).__name__, str(error)
    print(f"{error_name}: {error}")
no_bias = nn.Linear(3, 3)
no_bias.bias = None  # accepted: the layer now has no bias tensor
none_accepted = no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
print("after layer.bias = None: parameters", [name for name, _ in no_bias.named_parameters()])

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

# The explicit forms register the same way, also under names that are not identifiers.
named = nn.Module()
named.register_parameter("scale-0", nn.Parameter(torch.ones(1)))
index = 1  # a name computed at run time goes through the same __setattr__ as named.scale_1 = ...
setattr(named, f"scale_{index}", nn.Parameter(torch.ones(1)))
named.register_module("head-1", nn.Linear(3, 1))
named.add_module("head-2", nn.Linear(3, 1))
named.register_buffer("steps", torch.zeros((), dtype=torch.int64))
named.register_buffer("cache", torch.zeros(3), persistent=False)  # left out of state_dict
explicit_parameters = len(list(named.parameters(recurse=False)))
explicit_children = len(list(named.children()))
explicit_buffers = len(list(named.buffers(recurse=False)))
explicit_keys = ", ".join(named.state_dict())
print("explicit forms: state_dict", explicit_keys)
explicit_buffer_names = [name for name, _ in named.named_buffers()]

# The explicit forms refuse an empty name, a dotted name and a name the module already has.
# setattr refuses the same three names for a parameter, but takes any name for a module.
checked, refused = nn.Module(), 0
for name in ("", "a.b", "type"):
    for register, value in [
        (checked.register_parameter, nn.Parameter(torch.ones(1))),
        (checked.register_module, nn.Linear(3, 1)),
        (checked.register_buffer, torch.zeros(1)),
        (lambda n, v: setattr(checked, n, v), nn.Parameter(torch.ones(1))),  # setattr itself
    ]:
        try:
            register(name, value)
        except KeyError:
            refused += 1
# But setattr first removes what the instance holds under the name, so it takes that name over.
held = nn.Module()
held.child = nn.Linear(3, 1)
held.plain = 3
held.register_buffer("buf", torch.zeros(1))
held_refused = 0
for name in ("child", "buf", "plain"):
    try:
        held.register_parameter(name, nn.Parameter(torch.ones(1)))
    except KeyError:
        held_refused += 1
    setattr(held, name, nn.Parameter(torch.ones(1)))  # no error: the old entry is removed
held_parameters = [name for name, _ in held.named_parameters()]
held_children, held_buffers = list(held.children()), list(held.buffers())
plain_left = "plain" in vars(held)  # a plain attribute lives in the instance's __dict__
print(f"held names: register_parameter refused {held_refused} of 3; after setattr:", end=" ")
print(f"parameters {held_parameters}, children {held_children}, buffers {held_buffers},", end=" ")
print(f"plain attribute left: {plain_left}")


def any_names(module: nn.Module) -> nn.Module:
    for name in ("", "a.b", "type"):  # no error: setattr does not check a module's name
        setattr(module, name, nn.Linear(3, 1))
    return module


loose_keys = list(any_names(checked).state_dict())
print(f"refused names: {refused} of 12; after setattr(checked, name, ...): {loose_keys}")
# A plain lookup finds the method Module.type first; Module.__getattr__, which holds the child,
# runs only when that lookup fails.
type_child = nn.Module.__getattr__(checked, "type")
print(f"checked.type is a {type(checked.type).__name__}, the child a {type(type_child).__name__}")
twin = any_names(nn.Module())  # an identical model, with other random values
try:  # the values load, but the check for unexpected keys looks for a child "a"
    twin.load_state_dict(checked.state_dict())
except RuntimeError as error:
    dotted_load_message = str(error)
    print(f"{type(error).__name__}:", " ".join(dotted_load_message.split()))
dotted_loaded = torch.equal(getattr(twin, "a.b").weight, getattr(checked, "a.b").weight)
print("the values were loaded all the same:", dotted_loaded)


def complex_holder() -> nn.Module:
    holder = nn.Module()
    holder.register_buffer("z", torch.full((), 1j))
    return holder


# A complex-to-real cast warns once per process. torch.set_warn_always(True) makes torch raise
# it at every cast, and such casts do not use up the once-per-process warning. Python's own rule
# for a UserWarning ("default") still shows it once per line of code: one line inside
# torch/nn/modules/module.py for these .to() calls, another one for .type().
warn_always_before = torch.is_warn_always_enabled()  # restored after: a notebook runs on
try:
    torch.set_warn_always(True)
    shown = {}
    for action in ("default", "always"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter(action)
            complex_holder().to(torch.float64)
            complex_holder().to(torch.float32)
            complex_holder().to(torch.float16)
            complex_holder().type(torch.float64)  # Module.type's cast warns too
        shown[action] = [(warning.filename, warning.lineno) for warning in caught]
    with warnings.catch_warnings(record=True) as tensor_always:
        warnings.simplefilter("always")
        torch.full((), 1j).float()
finally:
    torch.set_warn_always(warn_always_before)

# .to(dtype), .double() and .half() skip integer and bool tensors, and differ on complex ones.
# Module.type(dtype) converts every parameter and buffer. None of them reaches a plain tensor.
conversions = {  # .double() and .half() first, while the warning below is still unused
    "double": nn.Module.double,
    "half": nn.Module.half,
    "to": lambda module: module.to(torch.float64),
    "type": lambda module: module.type(torch.float64),  # no warning: "to" has used it up
}
kinds = ("steps", "flag", "index", "scale", "mean", "z", "plain")
print("dtypes after each conversion, then the warnings it raised")
print("(before: int64, bool, int64, float32, float32, complex64, float32):")
print(f"{'':>7}" + "".join(f"{kind:>10}" for kind in kinds))
with warnings.catch_warnings(record=True) as silent_caught:  # casts that do not use the warning:
    warnings.simplefilter("always")
    torch.zeros(0, dtype=torch.complex64).float()  # an empty tensor has nothing to drop,
    torch.full((), 1j, device="meta").float()  # a meta tensor has no values,
    torch.full((), 1j).bool()  # and bool keeps "non-zero" (the imaginary part counts)
converted, warned = {}, {}
for how, convert in conversions.items():
    holder = nn.Module()
    holder.register_buffer("steps", torch.zeros((), dtype=torch.int64))
    holder.register_buffer("flag", torch.zeros((), dtype=torch.bool))
    holder.index = nn.Parameter(torch.arange(3), requires_grad=False)  # an integer parameter
    holder.scale = nn.Parameter(torch.ones(()))
    holder.register_buffer("mean", torch.zeros(()))
    holder.register_buffer("z", torch.zeros((), dtype=torch.complex64))
    holder.plain = torch.zeros(())  # not registered
    with warnings.catch_warnings(record=True) as caught:  # a complex-to-real cast warns
        warnings.simplefilter("always")
        convert(holder)
    converted[how] = [str(getattr(holder, kind).dtype).removeprefix("torch.") for kind in kinds]
    warned[how] = [warning.category.__name__ for warning in caught]
    if how == "to":
        to_messages = [str(warning.message) for warning in caught]
    print(f"{how:>7}" + "".join(f"{dtype:>10}" for dtype in converted[how]), *warned[how])
# The complex-to-real warning comes once per process: a second .to() drops the imaginary part
# without a word.
again = nn.Module()
again.register_buffer("z", torch.full((), 1 + 2j))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    again.to(torch.float64)
warned_again = [warning.category.__name__ for warning in caught]
print("a second .to(torch.float64):", again.z.item(), "warnings", warned_again)
# Every complex-to-real cast that warns shares that one warning, a tensor's own .float()
# included: it is silent now, and above, with torch.set_warn_always(True), it raised the same one.
with warnings.catch_warnings(record=True) as tensor_caught:
    warnings.simplefilter("always")
    torch.full((), 1j).float()
print("warnings from empty, meta and bool casts:", len(silent_caught), end=", ")
print("from a tensor's .float():", len(tensor_caught), end=", ")
print("with torch.set_warn_always(True):", len(tensor_always))
print("after torch.set_warn_always(True), warnings from three .to() and one .type():", end=" ")
print(", ".join(f"{len(files)} under {action!r}" for action, files in shown.items()))

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
assert message.endswith("or None expected)") and none_accepted  # witness: parameter-or-none
assert error_name == "TypeError"
assert "(torch.nn.Module or None expected)" in child_message
child_replaced = child_count_after == 0 and isinstance(model.layer, nn.Parameter)
assert child_replaced and not swap_caught  # witness: child-replaced
assert buffers_after == {"count": 5.0}  # witness: buffer-stays
explicit_heads = "head-1.weight, head-1.bias, head-2.weight, head-2.bias"
explicit_counts = (explicit_parameters, explicit_children, explicit_buffers)
explicit_names = explicit_keys == "scale-0, scale_1, steps, " + explicit_heads
assert explicit_counts == (2, 2, 2) and explicit_names  # witness: explicit-forms
assert "cache" in explicit_buffer_names and "cache" not in explicit_keys  # witness: non-persistent
real_kinds = ["int64", "bool", "int64"]
real_kept = all(converted[how][:3] == real_kinds for how in ("to", "double", "half"))
floats = [converted[how][4] for how in ("to", "double", "half")]
assert real_kept and floats == ["float64", "float64", "float16"]  # witness: int-kept
complex_dtypes = [converted[how][5] for how in ("to", "double", "half")]
complex_warned = [warned[how] for how in ("to", "double", "half")]  # "to" ran after the two
assert complex_dtypes == ["float64", "complex64", "complex64"]  # witness: complex-differs
# Holds in a fresh process only: run the cell again in the same kernel and the warning is used up.
first_warns = complex_warned == [["UserWarning"], [], []]
assert first_warns  # witness: complex-to-real-warns
assert len(shown["always"]) == 4 and first_warns  # witness: warn-always-keeps-once
assert not silent_caught and warned["to"]  # witness: complex-cast-exempt
assert again.z.item() == 1.0 and not warned_again  # witness: complex-warns-once
tensor_same = [str(warning.message) for warning in tensor_always] == to_messages
assert not tensor_caught and tensor_same  # witness: complex-warn-shared
to_lines, type_line = set(shown["always"][:3]), shown["always"][3]
two_lines = len(to_lines) == 1 and type_line not in to_lines and type_line[0].endswith("module.py")
default_shown = shown["default"] == [shown["always"][0], type_line]  # one per line
assert default_shown and two_lines  # witness: complex-warn-always
assert len(shown["always"]) == 4  # witness: type-warns
all_registered = converted["type"][:6] == ["float64"] * 6
assert all_registered and converted["type"][6] == "float32"  # witness: type-converts-all
assert all(converted[how][6] == "float32" for how in conversions)
assert refused == 12  # witness: names-checked
held_taken = held_parameters == ["child", "buf", "plain"] and not held_children
held_taken = held_taken and not held_buffers and not plain_left
assert held_refused == 3 and held_taken  # witness: setattr-takes-over
loose_expected = [".weight", ".bias", "a.b.weight", "a.b.bias", "type.weight", "type.bias"]
assert loose_keys == loose_expected  # witness: setattr-module-unchecked
type_saved = "type.weight" in loose_keys and isinstance(type_child, nn.Linear)
assert type_saved and not isinstance(checked.type, nn.Module)  # witness: setattr-type-hidden
dotted_unexpected = 'Unexpected key(s) in state_dict: "a.b.weight"' in dotted_load_message
assert dotted_unexpected and dotted_loaded  # witness: dotted-load-fails

"""Registering under a name given as a string: register_* check the name, setattr less so."""

import torch
from torch import nn

# The explicit forms register as assignment does, also under names that are not identifiers.
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
# nn.Buffer marks a tensor as a buffer when it is assigned; it takes persistent=False too.
marked = nn.Module()
marked.mean = nn.Buffer(torch.zeros(3))
marked.cache = nn.Buffer(torch.zeros(3), persistent=False)  # left out of state_dict
marked.to(torch.float64)
marked_buffers = {name: str(t.dtype) for name, t in marked.named_buffers()}
marked_keys = list(marked.state_dict())
print("nn.Buffer: buffers", marked_buffers, "| state_dict", marked_keys)

# The explicit forms refuse an empty name, a dotted name and a name the module already has.
# setattr refuses the same three names for a parameter, but does not check a module's name.
checked, refused, setattr_refused = nn.Module(), 0, 0


def set_attribute(name: str, value: object) -> None:
    setattr(checked, name, value)


for name in ("", "a.b", "type"):
    for register, value in [
        (checked.register_parameter, nn.Parameter(torch.ones(1))),
        (checked.register_module, nn.Linear(3, 1)),
        (checked.register_buffer, torch.zeros(1)),
        (set_attribute, nn.Parameter(torch.ones(1))),  # setattr itself
    ]:
        try:
            register(name, value)
        except KeyError:
            refused += 1
            setattr_refused += register is set_attribute
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
# It removes the old entry even when it then refuses the name: the child "a.b" is lost.
setattr(held, "a.b", nn.Linear(3, 1))
children_before = [name for name, _ in held.named_children()]
dotted_refused = False
try:
    setattr(held, "a.b", nn.Parameter(torch.ones(1)))
except KeyError:
    dotted_refused = True
children_after = [name for name, _ in held.named_children()]
print(f"setattr(held, 'a.b', parameter) refused: {dotted_refused};", end=" ")
print(f"children before it {children_before}, after it {children_after}")


def any_names(module: nn.Module) -> nn.Module:
    for name in ("", "a.b", "type"):  # no error: setattr does not check a module's name
        setattr(module, name, nn.Linear(3, 1))
    return module


loose_keys = list(any_names(checked).state_dict())
print(f"refused names: {refused} of 12 ({setattr_refused} of 3 by setattr);", end=" ")
print(f"after setattr(checked, name, module): {loose_keys}")
# A name that holds a parameter does refuse a module.
taken_message = ""
try:
    held.child = nn.Linear(3, 1)  # held.child is a parameter now
except TypeError as error:
    taken_message = str(error)
print(f"held.child = nn.Linear(3, 1): TypeError: {taken_message}")
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
pathed = any_names(nn.Module())
pathed.a = nn.Module()
pathed.a.b = nn.Linear(3, 1)  # a real path a -> b as well: the check finds child b inside a
pathed_loads = True
try:
    pathed.load_state_dict(checked.state_dict())  # strict, as above
except RuntimeError:
    pathed_loads = False
print("with children a -> b as well, the strict load passes:", pathed_loads)
only_a = any_names(nn.Module())
only_a.a = nn.Module()  # a child a with no b inside it: still unexpected
try:
    only_a.load_state_dict(checked.state_dict())
    only_a_refused = False
except RuntimeError as error:
    only_a_refused = "a.b.weight" in str(error)

explicit_heads = "head-1.weight, head-1.bias, head-2.weight, head-2.bias"
explicit_counts = (explicit_parameters, explicit_children, explicit_buffers)
explicit_names = explicit_keys == "scale-0, scale_1, steps, " + explicit_heads
assert explicit_counts == (2, 2, 2) and explicit_names  # witness: explicit-forms
marked_ok = marked_keys == ["mean"] and not list(marked.parameters())
marked_ok = marked_ok and marked_buffers == {"mean": "torch.float64", "cache": "torch.float64"}
registered_ok = "cache" in explicit_buffer_names and "cache" not in explicit_keys
assert registered_ok and marked_ok  # witness: non-persistent
assert refused - setattr_refused == 9  # witness: names-checked
assert setattr_refused == 3  # witness: setattr-parameter-checked
held_taken = held_parameters == ["child", "buf", "plain"] and not held_children
held_taken = held_taken and not held_buffers and not plain_left
assert held_refused == 3 and held_taken  # witness: setattr-takes-over
lost = dotted_refused and children_before == ["a.b"] and not children_after
assert lost and "a.b" not in dict(held.named_parameters())  # witness: setattr-refused-removes
loose_expected = [".weight", ".bias", "a.b.weight", "a.b.bias", "type.weight", "type.bias"]
assert loose_keys == loose_expected  # witness: setattr-module-unchecked
taken_refused = taken_message.endswith("as parameter 'child' (torch.nn.Parameter or None expected)")
assert taken_refused and isinstance(held.child, nn.Parameter)  # witness: setattr-module-refused
type_saved = "type.weight" in loose_keys and isinstance(type_child, nn.Linear)
assert type_saved and not isinstance(checked.type, nn.Module)  # witness: setattr-type-hidden
dotted_unexpected = 'Unexpected key(s) in state_dict: "a.b.weight"' in dotted_load_message
assert dotted_unexpected and dotted_loaded  # witness: dotted-load-fails
assert dotted_unexpected and pathed_loads and only_a_refused  # witness: dotted-key-split

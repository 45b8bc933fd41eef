"""Registering under a name given as a string: register_* check the name, setattr less so."""

import warnings

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
# They also refuse a name that an entry of another kind, or a plain attribute, holds.
occupied = nn.Module()
occupied.p, occupied.c, occupied.x = nn.Parameter(torch.ones(1)), nn.Linear(3, 1), 3
occupied.register_buffer("b", torch.zeros(1))
forms = {
    "p": (occupied.register_parameter, nn.Parameter(torch.ones(1))),
    "c": (occupied.register_module, nn.Linear(3, 1)),
    "b": (occupied.register_buffer, torch.zeros(1)),
}
occupied_refused = 0
for name in ("p", "c", "b", "x"):
    for kind, (register, value) in forms.items():
        if kind == name:
            continue  # the same kind: replaced, as shown at the end
        try:
            register(name, value)
        except KeyError:
            occupied_refused += 1
print(f"names held by another kind or a plain attribute: refused {occupied_refused} of 9")
# But setattr first removes what the instance holds under the name, so it takes that name over.
held = nn.Module()
held.child = nn.Linear(3, 1)
held.plain = 3
held.register_buffer("buf", torch.zeros(1))
held_refused, silent_takeovers = 0, 0
for name in ("child", "buf", "plain"):
    try:
        held.register_parameter(name, nn.Parameter(torch.ones(1)))
    except KeyError:
        held_refused += 1
    with warnings.catch_warnings(record=True) as takeover_warnings:  # none: silent
        warnings.simplefilter("always")
        setattr(held, name, nn.Parameter(torch.ones(1)))  # no error: the old entry is removed
    silent_takeovers += not takeover_warnings
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

# setattr does not check a module's name: these three all register a child. get_submodule finds
# neither of the last two; checked.a.b raises AttributeError and checked.type is the method.
for name in ("", "a.b", "type"):
    setattr(checked, name, nn.Linear(3, 1))
loose_keys = list(checked.state_dict())
print(f"refused names: {refused} of 12 ({setattr_refused} of 3 by setattr);", end=" ")
print(f"after setattr(checked, name, module): {loose_keys}")
reachable_a = hasattr(checked, "a")
found_by_path = []
for path in ("a.b", "type"):
    try:
        checked.get_submodule(path)
        found_by_path.append(path)
    except AttributeError:
        pass
print(
    f"checked.type is a {type(checked.type).__name__}; hasattr(checked, 'a'): {reachable_a};",
    end=" ",
)
print(f"found by get_submodule: {found_by_path}")
# A name that already holds the same kind is replaced without error by all three explicit forms.
first_head = named.get_submodule("head-1")
named.register_module("head-1", nn.Linear(3, 1))
named.register_parameter("scale-0", nn.Parameter(torch.zeros(1)))
named.register_buffer("steps", torch.ones((), dtype=torch.int64))
same_kind_replaced = named.get_submodule("head-1") is not first_head
same_kind_replaced &= named.get_parameter("scale-0").item() == 0 and named.steps.item() == 1
print("same-kind names replaced without error:", same_kind_replaced)

explicit_heads = "head-1.weight, head-1.bias, head-2.weight, head-2.bias"
explicit_counts = (explicit_parameters, explicit_children, explicit_buffers)
explicit_names = explicit_keys == "scale-0, scale_1, steps, " + explicit_heads
assert explicit_counts == (2, 2, 2) and explicit_names  # witness: explicit-forms
marked_ok = marked_keys == ["mean"] and not list(marked.parameters())
marked_ok = marked_ok and marked_buffers == {"mean": "torch.float64", "cache": "torch.float64"}
registered_ok = "cache" in explicit_buffer_names and "cache" not in explicit_keys
assert registered_ok and marked_ok  # witness: non-persistent
assert refused - setattr_refused == 9 and occupied_refused == 9  # witness: names-checked
assert setattr_refused == 3  # witness: setattr-parameter-checked
held_taken = held_parameters == ["child", "buf", "plain"] and not held_children
held_taken = held_taken and not held_buffers and not plain_left
assert held_refused == 3 and held_taken and silent_takeovers == 3  # witness: setattr-takes-over
lost = dotted_refused and children_before == ["a.b"] and not children_after
assert lost and "a.b" not in dict(held.named_parameters())  # witness: setattr-refused-removes
loose_expected = [".weight", ".bias", "a.b.weight", "a.b.bias", "type.weight", "type.bias"]
unreachable = not reachable_a and not isinstance(checked.type, nn.Module) and not found_by_path
assert loose_keys == loose_expected and unreachable  # witness: setattr-module-unchecked
assert same_kind_replaced  # witness: same-kind-replaced

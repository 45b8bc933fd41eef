"""nn.Buffer: registering a buffer by assignment, and what later assignments do."""

import copy
import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Standardize(nn.Module):
    """Subtracts a stored mean and divides by a stored standard deviation, per feature."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.mean = nn.Buffer(torch.zeros(num_features))  # like register_buffer("mean", ...)
        self.std = nn.Buffer(torch.ones(num_features))
        self.eps = nn.Buffer(torch.tensor(1e-6), persistent=False)
        self.note = torch.zeros(num_features)  # a plain tensor: NOT registered

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> None:
        # copy_ writes into the existing buffers, so they keep their dtype and device.
        self.mean.copy_(data.mean(dim=0))
        self.std.copy_(data.std(dim=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / (self.std + self.eps)


torch.manual_seed(0)
data = torch.randn(100, 3) * torch.tensor([1.0, 10.0, 100.0]) + 5.0
layer = Standardize(3)
layer.fit(data)

buffers_text = ", ".join(name for name, _ in layer.named_buffers())
state_text = ", ".join(layer.state_dict())
print("named_buffers():", buffers_text)
print("state_dict():   ", state_text)
print("fitted mean:", [round(v, 2) for v in layer.mean.tolist()])

standardized = layer(data)
largest_mean = standardized.mean(dim=0).abs().max().item()
# Its exact size depends on the CPU kernels that drew the data, so only the bound is printed.
print(f"after standardizing: every |column mean| below 1e-4: {largest_mean < 1e-4}")
print("column standard deviations:", [round(v, 4) for v in standardized.std(dim=0).tolist()])

note_registered = "note" in dict(layer.named_buffers())
# Over a plain attribute such as note, an nn.Buffer is refused while an nn.Parameter is not.
fresh = Standardize(3)
try:
    fresh.note = nn.Buffer(fresh.note)
except KeyError as error:
    buffer_over_plain = str(error)
fresh.note = nn.Parameter(fresh.note)
parameter_over_plain = "note" in dict(fresh.named_parameters())
print("nn.Buffer over note:", buffer_over_plain, " nn.Parameter over note:", parameter_over_plain)
# Over a parameter or a submodule, nn.Buffer raises a TypeError instead.
block = nn.Module()
block.linear = nn.Linear(2, 2)
over_others = []
for owner, name in ((block.linear, "weight"), (block, "linear")):
    try:
        setattr(owner, name, nn.Buffer(torch.zeros(2, 2)))
    except TypeError as error:
        over_others.append(str(error).split(" (")[0])
print("nn.Buffer over a parameter, over a submodule: TypeError:", "; ".join(over_others))

# fit works under torch.no_grad(): data with autograd history leaves none in the buffers.
tracked = data.clone().requires_grad_()
layer.fit(tracked)
fit_leaves_no_history = layer.mean.grad_fn is None and not layer.mean.requires_grad
unguarded = Standardize(3)
unguarded.mean.copy_(tracked.mean(dim=0))  # the same copy, outside torch.no_grad()
unguarded_records_history = unguarded.mean.grad_fn is not None
print("fit on tracked data leaves no history:", fit_leaves_no_history)
print("the same copy_ outside no_grad records history:", unguarded_records_history)

# Assigning an unmarked tensor (one nn.Buffer did not make) to a name that is already a buffer
# keeps it a buffer, with the same persistence, but the buffer becomes that tensor, with its dtype
# and device.
wide = Standardize(3).double()
mean_before_fit = wide.mean
wide.fit(data)  # float32 data, copied into the existing float64 buffers
fitted_dtype = str(wide.mean.dtype)
fit_kept_buffer = wide.mean is mean_before_fit
data_mean = data.mean(dim=0)
wide.mean = data_mean  # the float32 tensor itself replaces the float64 buffer
wide.eps = torch.tensor(1e-5)
assigned_dtype = str(wide.mean.dtype)
still_buffers = {"mean", "eps"} <= set(dict(wide.named_buffers()))
persistence_kept = "mean" in wide.state_dict() and "eps" not in wide.state_dict()
print(f"float64 layer: after fit {fitted_dtype}, after assigning float32 data {assigned_dtype}")
print("mean and eps still buffers:", still_buffers, " persistence kept:", persistence_kept)
on_meta = Standardize(3).to("meta")  # the meta device shows on any machine what a GPU would show
on_meta.mean = data_mean  # a CPU tensor
assigned_device = on_meta.mean.device.type
print("layer on meta, CPU tensor assigned to mean: the buffer is now on", assigned_device)
if device.type != "cpu":  # the same on a real accelerator
    on_device = Standardize(3).to(device)
    on_device.mean = data_mean
    assert on_device.mean.device.type == "cpu"  # witness: gpu-assign-device
# An nn.Buffer brings its own persistence; an nn.Parameter turns the buffer into a parameter.
other = Standardize(3)
other.eps = nn.Buffer(torch.tensor(1e-5))  # persistent=True by default
other.mean = nn.Buffer(torch.zeros(3), persistent=False)
other.std = nn.Parameter(torch.ones(3))
eps_now_saved = "eps" in other.state_dict()
mean_now_unsaved = "mean" in dict(other.named_buffers()) and "mean" not in other.state_dict()
std_now_parameter = "std" in dict(other.named_parameters()) and "std" not in dict(
    other.named_buffers()
)
print("nn.Buffer over eps: now saved:", eps_now_saved, " Parameter over std:", std_now_parameter)
print("nn.Buffer(..., persistent=False) over mean: a buffer, not saved:", mean_now_unsaved)

# nn.Buffer stores a detached tensor: a new object on the same memory, without autograd history.
source = torch.zeros(3)
probe = nn.Module()
probe.assigned = nn.Buffer(source)
probe.register_buffer("registered", source)
buffer_is_source = probe.assigned is source
registered_is_source = probe.registered is source
same_memory_as_source = probe.assigned.data_ptr() == source.data_ptr()
print("nn.Buffer(t) is t:", buffer_is_source, " register_buffer keeps t:", registered_is_source)
computed = torch.ones(3, requires_grad=True) * 2  # a tensor with autograd history
probe.assigned_computed = nn.Buffer(computed)
probe.register_buffer("registered_computed", computed)
print(
    "history: nn.Buffer",
    probe.assigned_computed.grad_fn,
    " register_buffer",
    type(probe.registered_computed.grad_fn).__name__,
)

# register_buffer(name, None) keeps a slot with no tensor; nn.Buffer(None) is an empty tensor.
probe.register_buffer("slot", None)
probe.empty = nn.Buffer(None)
saved = probe.state_dict()
slot_is_none = probe.slot is None
print("register_buffer(name, None):", probe.slot, " saved:", "slot" in saved)
print("nn.Buffer(None):", probe.empty, " saved:", "empty" in saved)
probe.slot = torch.zeros(2)  # the name is kept: a plain tensor assigned later registers
slot_kept_name = "slot" in dict(probe.named_buffers())

# Given a plain tensor, nn.Buffer returns a plain torch.Tensor with a mark: two attributes, which
# isinstance(x, nn.Buffer) checks. The module stores that tensor, mark included.
marked = layer.mean
mark = (type(marked).__name__, marked._is_buffer, marked.persistent)
print("layer.mean:", mark[0], " _is_buffer:", mark[1], " persistent:", mark[2])


class Tagged(torch.Tensor):
    """A tensor subclass: nn.Buffer stores t.detach(), which keeps the subclass."""


tagged = nn.Buffer(torch.zeros(1).as_subclass(Tagged))
print("nn.Buffer of a Tagged tensor:", type(tagged).__name__)


def alias(module: nn.Module, name: str) -> tuple[bool, bool, bool]:
    """Assign a buffer to a second name: registered as a buffer, saved, or a plain attribute?"""
    module.alias = getattr(module, name)
    registered = "alias" in dict(module.named_buffers(remove_duplicate=False))
    return registered, "alias" in module.state_dict(), "alias" in vars(module)


REGISTERED, PLAIN = (True, True, False), (False, False, True)
marked_alias = alias(layer, "mean")  # a marked tensor: registered under a second name
alias_listed = "alias" in dict(layer.named_buffers())  # it skips a tensor it has already yielded
probe_mark = hasattr(probe.registered, "_is_buffer")  # register_buffer adds no mark
unmarked_alias = alias(probe, "registered")
wrapped = nn.Module()
wrapped.register_buffer("registered", nn.Buffer(torch.zeros(3)))  # a tensor marked already
wrapped_alias = alias(wrapped, "registered")
print("alias of ... (registered, saved, plain attribute)")
print("  nn.Buffer's tensor", marked_alias, " listed by named_buffers():", alias_listed)
print("  register_buffer(t)", unmarked_alias)
print("  register_buffer(nn.Buffer(t))", wrapped_alias)

# A conversion stores what its function returns for each buffer: a new tensor has no mark, the
# buffer itself keeps it. Module.double() passes a tensor that is not floating point through.
# load_state_dict copies into the buffer; with assign=True it stores the loaded tensor instead,
# and with the swap flag of torch.__future__ it copies into the buffer, then swaps a detached
# tensor of the buffer's own memory into the buffer object.
saved_from = nn.Module()
saved_from.b = nn.Buffer(torch.ones(3))
checkpoint = saved_from.state_dict()  # for the assign=True row: detached tensors, no mark


def fresh_checkpoint() -> dict:
    """A state_dict of its own: assign=True writes itself into the dict it loads (see the end)."""
    return saved_from.state_dict()


def assign_load(module: nn.Module) -> None:
    module.load_state_dict(checkpoint, assign=True)


def swap_load(module: nn.Module) -> None:
    """load_state_dict with a process-wide flag of torch.__future__ set, then restored."""
    flag_before = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        module.load_state_dict(fresh_checkpoint())
    finally:
        torch.__future__.set_swap_module_params_on_conversion(flag_before)


conversions = {
    ".double() of float32": (torch.float32, lambda module: module.double()),
    ".double() of int64": (torch.int64, lambda module: module.double()),
    ".float() of float32": (torch.float32, lambda module: module.float()),
    '.to("cpu") on the CPU': (torch.float32, lambda module: module.to("cpu")),
    '.to("meta")': (torch.float32, lambda module: module.to("meta")),
    "load_state_dict()": (torch.float32, lambda m: m.load_state_dict(fresh_checkpoint())),
    "load_state_dict(assign=True)": (torch.float32, assign_load),
    "load_state_dict(), swapping": (torch.float32, swap_load),
}
if device.type != "cpu":  # a real move to an accelerator
    conversions[f'.to("{device.type}")'] = (torch.float32, lambda module: module.to(device))
after_conversion, converted, kept_memory = {}, {}, {}
for label, (dtype, convert) in conversions.items():
    module = nn.Module()
    module.b = nn.Buffer(torch.zeros(3, dtype=dtype))
    before, memory_before = module.b, module.b.data_ptr()
    convert(module)
    same, still_marked = module.b is before, hasattr(module.b, "_is_buffer")
    own_memory = module.b.data_ptr() == memory_before != 0
    outcome = alias(module, "b")
    after_conversion[label], converted[label] = (same, still_marked, outcome), module
    kept_memory[label] = own_memory
    print(f"{label:28} same tensor {same!s:5} marked {still_marked!s:5} alias {outcome}")

# load_state_dict(checkpoint, assign=True) wrote assign=True into checkpoint._metadata, so a
# later load of that same dict object stores its tensors too: a default load, and even one that
# passes assign=False.
remembered = checkpoint._metadata[""].get("assign_to_params_buffers", False)
later = nn.Module()
later.b = nn.Buffer(torch.zeros(3))
later.load_state_dict(checkpoint)  # no assign=True here
later_stores = later.b is checkpoint["b"]
explicit = nn.Module()
explicit.b = nn.Buffer(torch.zeros(3))
explicit.load_state_dict(checkpoint, assign=False)  # the remembered flag wins even so
later_stores &= explicit.b is checkpoint["b"]
assigned_first = converted["load_state_dict(assign=True)"].b
memory_shared = later.b.data_ptr() == assigned_first.data_ptr()
print(
    "a later load of the dict that assign=True loaded, even with assign=False, stores its tensor:"
)
print(" ", later_stores)
print("  and shares memory with the model that assign=True loaded:", memory_shared)
# The flag travels with the dict: into a deep copy, and through a file saved from it.
file = io.BytesIO()
torch.save(checkpoint, file)
file.seek(0)
copies = [copy.deepcopy(checkpoint), torch.load(file)]
flag_travels = all(c._metadata[""].get("assign_to_params_buffers") for c in copies)
# A plain dict has no _metadata, so it has nowhere to keep the flag.
plain = dict(saved_from.state_dict())
plain_first = nn.Module()
plain_first.b = nn.Buffer(torch.zeros(3))
plain_first.load_state_dict(plain, assign=True)
plain_later = nn.Module()
plain_later.b = nn.Buffer(torch.zeros(3))
plain_later.load_state_dict(plain)
plain_forgets = not hasattr(plain, "_metadata") and plain_later.b is not plain["b"]
print("the flag travels with a deep copy and a saved file:", flag_travels, end="")
print("; a plain dict remembers nothing:", plain_forgets)

assert buffers_text == "mean, std, eps"  # witness: buffer-assignment-registers
assert state_text == "mean, std" and "eps" not in layer.state_dict()  # witness: non-persistent-form
note_marked = isinstance(layer.note, nn.Buffer)
note_plain = "note" in vars(layer)
assert not note_registered and not note_marked and note_plain  # witness: new-name-registers-nothing
assert largest_mean < 1e-4
assert torch.allclose(standardized.std(dim=0), torch.ones(3), atol=1e-4)
assert fit_leaves_no_history and unguarded_records_history  # witness: no-grad-keeps-history-out
assert fitted_dtype == "torch.float64" and fit_kept_buffer  # witness: copy-keeps-buffer
assert wide.mean is data_mean and assigned_dtype == "torch.float32"  # witness: becomes-tensor
assert still_buffers and persistence_kept  # witness: persistence-kept
brings_persistence = eps_now_saved and other.eps.persistent and mean_now_unsaved
assert brings_persistence  # witness: buffer-brings-persistence
assert std_now_parameter  # witness: parameter-replaces-buffer
assert not buffer_is_source and same_memory_as_source  # witness: buffer-detaches
assert probe.assigned_computed.grad_fn is None  # witness: buffer-no-history
assert probe.assigned_computed.requires_grad  # witness: buffer-keeps-requires-grad
assert registered_is_source  # witness: register-keeps-t
assert probe.registered_computed.grad_fn is computed.grad_fn  # witness: register-keeps-history
mean_still_buffer = "mean" in dict(on_meta.named_buffers())
assert assigned_device == "cpu" and mean_still_buffer  # witness: assigned-device
plain_but_marked = type(marked) is torch.Tensor and isinstance(marked, nn.Buffer)
assert plain_but_marked and mark[1:] == (True, True)  # witness: buffer-marked
kept_class = type(tagged) is Tagged is type(torch.zeros(1).as_subclass(Tagged).detach())
assert kept_class and isinstance(tagged, nn.Buffer)  # witness: buffer-keeps-subclass
assert marked_alias == REGISTERED  # witness: marked-alias-registers
assert not alias_listed and marked_alias[:2] == (True, True)  # witness: alias-listed-once
assert not probe_mark and unmarked_alias == PLAIN  # witness: unmarked-alias-plain
assert wrapped_alias == REGISTERED  # witness: register-keeps-mark
dropped = (False, False, PLAIN)
new_tensors = (".double() of float32", '.to("meta")')
assert all(after_conversion[k] == dropped for k in new_tensors)  # witness: conversion-drops-mark
kept = (True, True, REGISTERED)
same_tensors = (".double() of int64", ".float() of float32", '.to("cpu") on the CPU')
assert all(after_conversion[k] == kept for k in same_tensors)  # witness: no-op-keeps-mark
if device.type != "cpu":
    moved = after_conversion[f'.to("{device.type}")']
    assert moved == dropped  # witness: accelerator-move-drops-mark
int_buffer, float_buffer = torch.zeros(3, dtype=torch.int64), torch.zeros(3)
int_kept = after_conversion[".double() of int64"] == kept
tensor_double_is_new = int_buffer.double() is not int_buffer
tensor_double_is_new &= int_buffer.double().dtype == torch.float64
assert tensor_double_is_new and int_kept  # witness: double-skips-int
no_op_self = float_buffer.float() is float_buffer and float_buffer.to("cpu") is float_buffer
assert no_op_self  # witness: tensor-no-op
slot_skipped = slot_is_none and "slot" not in saved
slot_skipped &= slot_kept_name
assert slot_skipped and probe.empty.numel() == 0 and "empty" in saved  # witness: none-slot
assert "already exists" in buffer_over_plain and parameter_over_plain  # witness: buffer-over-plain
refused_as = [message.split(" as ")[-1] for message in over_others]
refused_by_type = refused_as == ["parameter 'weight'", "child module 'linear'"]
assert refused_by_type  # witness: buffer-over-others
stored = converted["load_state_dict(assign=True)"].b is checkpoint["b"]
stored &= not hasattr(checkpoint["b"], "_is_buffer")
# state_dict() made a new tensor object for the entry, which shares the buffer's memory
stored &= checkpoint["b"] is not saved_from.b
stored &= checkpoint["b"].data_ptr() == saved_from.b.data_ptr()
stored &= after_conversion["load_state_dict(assign=True)"] == dropped
assert stored  # witness: assign-drops-mark
copied_in = torch.equal(converted["load_state_dict()"].b, saved_from.b)
assert copied_in and after_conversion["load_state_dict()"] == kept  # witness: load-keeps-mark
swapped = after_conversion["load_state_dict(), swapping"]
swapped_in = torch.equal(converted["load_state_dict(), swapping"].b, checkpoint["b"])
copied = kept_memory["load_state_dict(), swapping"]  # not the checkpoint's memory, as assign=True
assert swapped_in and copied and swapped == (True, False, PLAIN)  # witness: swap-drops-mark
assert remembered and later_stores and memory_shared  # witness: assign-remembered
assert flag_travels and plain_forgets  # witness: assign-flag-travels

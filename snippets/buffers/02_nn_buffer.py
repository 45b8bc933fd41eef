"""nn.Buffer: registering a buffer by assignment, and what later assignments do."""

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


def alias(module: nn.Module, name: str) -> tuple[bool, bool, bool]:
    """Assign a buffer to a second name: registered as a buffer, saved, or a plain attribute?"""
    module.alias = getattr(module, name)
    registered = "alias" in dict(module.named_buffers(remove_duplicate=False))
    return registered, "alias" in module.state_dict(), "alias" in vars(module)


REGISTERED, PLAIN = (True, True, False), (False, False, True)
aliased = Standardize(3)  # a layer of its own: layer keeps one name per buffer
marked_alias = alias(aliased, "mean")  # a marked tensor: registered under a second name
alias_listed = "alias" in dict(aliased.named_buffers())  # it skips a tensor it has already yielded
print("alias of a marked buffer (registered, saved, plain attribute):", marked_alias)
print("  listed by named_buffers():", alias_listed)
unmarked_alias = alias(probe, "registered")  # register_buffer added no mark: a plain attribute
print("alias of a register_buffer buffer:", unmarked_alias)

# A conversion or a load that stores a new tensor in place of the buffer drops the mark.
saved_from = nn.Module()
saved_from.b = nn.Buffer(torch.ones(3))
checkpoint = saved_from.state_dict()  # detached tensors: new objects, no mark


def assign_load(module: nn.Module) -> None:
    module.load_state_dict(checkpoint, assign=True)


conversions = {
    ".double() of float32": lambda module: module.double(),
    '.to("meta")': lambda module: module.to("meta"),
    "load_state_dict(assign=True)": assign_load,
}
if device.type != "cpu":  # a real move to an accelerator
    conversions[f'.to("{device.type}")'] = lambda module: module.to(device)
after_conversion, converted = {}, {}
for label, convert in conversions.items():
    module = nn.Module()
    module.b = nn.Buffer(torch.zeros(3))
    before = module.b
    convert(module)
    same, still_marked = module.b is before, hasattr(module.b, "_is_buffer")
    outcome = alias(module, "b")
    after_conversion[label], converted[label] = (same, still_marked, outcome), module
    print(f"{label:28} same tensor {same!s:5} marked {still_marked!s:5} alias {outcome}")

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
assert marked_alias == REGISTERED  # witness: marked-alias-registers
assert not alias_listed and marked_alias[:2] == (True, True)  # witness: alias-listed-once
unmarked = registered_is_source and not hasattr(probe.registered, "_is_buffer")
assert unmarked and unmarked_alias == PLAIN  # witness: unmarked-alias-plain
dropped = (False, False, PLAIN)
new_tensors = (".double() of float32", '.to("meta")')
assert all(after_conversion[k] == dropped for k in new_tensors)  # witness: conversion-drops-mark
if device.type != "cpu":
    moved = after_conversion[f'.to("{device.type}")']
    assert moved == dropped  # witness: accelerator-move-drops-mark
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

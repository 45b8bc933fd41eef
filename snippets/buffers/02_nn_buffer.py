"""nn.Buffer against register_buffer, and what assigning a tensor to an attribute does."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:layer]
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
standardized = layer(data)
largest_mean = standardized.mean(dim=0).abs().max().item()
# Its exact size depends on the CPU kernels that drew the data, so only the bound is printed.
print(f"after standardizing: every |column mean| below 1e-4: {largest_mean < 1e-4}")
# --8<-- [end:layer]

# nn.Buffer(t) stores a detached tensor with a mark; register_buffer stores t itself.
source = torch.zeros(3)
computed = torch.ones(3, requires_grad=True) * 2  # a tensor with autograd history
probe = nn.Module()
probe.assigned = nn.Buffer(source)
probe.register_buffer("registered", source)
probe.assigned_computed = nn.Buffer(computed)
probe.register_buffer("registered_computed", computed)
buffer_is_source = probe.assigned is source
same_memory_as_source = probe.assigned.data_ptr() == source.data_ptr()
registered_is_source = probe.registered is source
print("nn.Buffer(t) is t:", buffer_is_source, " register_buffer keeps t:", registered_is_source)
history = probe.assigned_computed.grad_fn, type(probe.registered_computed.grad_fn).__name__
print("history: nn.Buffer", history[0], " register_buffer", history[1])
marked = layer.mean
mark = (type(marked).__name__, isinstance(marked, nn.Buffer), marked.persistent)
print("layer.mean:", mark[0], " isinstance of nn.Buffer:", mark[1], " persistent:", mark[2])
# register_buffer(name, None) keeps a slot with no tensor; nn.Buffer(None) is an empty tensor.
probe.register_buffer("slot", None)
probe.empty = nn.Buffer(None)
saved = probe.state_dict()
slot_is_none = probe.slot is None
print("register_buffer(name, None):", probe.slot, " saved:", "slot" in saved)
print("nn.Buffer(None):", probe.empty, " saved:", "empty" in saved)
probe.slot = torch.zeros(2)  # the name is kept: a plain tensor assigned later registers
slot_kept_name = "slot" in dict(probe.named_buffers())

# Assigning a tensor to an attribute. copy_ writes into the buffer: it keeps its dtype.
wide = Standardize(3).double()
mean_before_copy = wide.mean
wide.mean.copy_(data.mean(dim=0))  # float32 values into the float64 buffer
copied_dtype = str(wide.mean.dtype)
copy_kept_buffer = wide.mean is mean_before_copy
# A tensor without the mark replaces the buffer, dtype and device included.
data_mean = data.mean(dim=0)
wide.mean = data_mean  # the float32 tensor itself replaces the float64 buffer
wide.eps = torch.tensor(1e-5)
assigned_dtype = str(wide.mean.dtype)
still_buffers = {"mean", "eps"} <= set(dict(wide.named_buffers()))
persistence_kept = "mean" in wide.state_dict() and "eps" not in wide.state_dict()
print(f"float64 layer: after copy_ {copied_dtype}, after assigning float32 data {assigned_dtype}")
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
std_now_parameter = "std" in dict(other.named_parameters())
std_now_parameter &= "std" not in dict(other.named_buffers())
print("nn.Buffer over eps: now saved:", eps_now_saved, " Parameter over std:", std_now_parameter)
# Over a plain attribute such as note, an nn.Buffer is refused while an nn.Parameter is not.
fresh = Standardize(3)
try:
    fresh.note = nn.Buffer(fresh.note)
except KeyError as error:
    buffer_over_plain = str(error)
fresh.note = nn.Parameter(fresh.note)
parameter_over_plain = "note" in dict(fresh.named_parameters())
print("nn.Buffer over note:", buffer_over_plain, " nn.Parameter over note:", parameter_over_plain)
# Over a parameter or a submodule, nn.Buffer raises a TypeError instead, and so does a plain tensor.
block = nn.Module()
block.linear = nn.Linear(2, 2)
over_others, plain_over_others = [], []
for owner, name in ((block.linear, "weight"), (block, "linear")):
    for value, refusals in (
        (nn.Buffer(torch.zeros(2, 2)), over_others),
        (torch.zeros(2, 2), plain_over_others),
    ):
        try:
            setattr(owner, name, value)
        except TypeError as error:
            refusals.append(str(error))
refusals_text = "; ".join(message.split(" (")[0] for message in over_others)
print("nn.Buffer over a parameter, over a submodule: TypeError:", refusals_text)
print("a plain tensor there: the same TypeError:", plain_over_others == over_others)

# fit works under torch.no_grad(): data with autograd history leaves none in the buffers.
tracked = data.clone().requires_grad_()
layer.fit(tracked)
fit_leaves_no_history = layer.mean.grad_fn is None and not layer.mean.requires_grad
unguarded = Standardize(3)
unguarded.mean.copy_(tracked.mean(dim=0))  # the same copy, outside torch.no_grad()
unguarded_records_history = unguarded.mean.grad_fn is not None
print("fit leaves no history:", fit_leaves_no_history)
print("the same copy_ outside no_grad records history:", unguarded_records_history)

# The mark travels with the tensor: a second name for an nn.Buffer's tensor registers the same
# tensor again, under a second buffer name.
aliased = Standardize(3)
aliased.alias = aliased.mean
alias_registered = "alias" in dict(aliased.named_buffers(remove_duplicate=False))
alias_saved = {"mean", "alias"} <= set(aliased.state_dict())
alias_yielded_once = len(list(aliased.buffers())) == 3  # mean, std, eps
alias_one_tensor = aliased.alias is aliased.mean
aliased.eps_alias = aliased.eps  # a second name for the non-persistent eps: saved under neither
eps_alias_registered = "eps_alias" in dict(aliased.named_buffers(remove_duplicate=False))
eps_unsaved = not {"eps", "eps_alias"} & set(aliased.state_dict())
print("second name for mean: registered", alias_registered, " saved under both:", alias_saved)
print("second name for eps: registered", eps_alias_registered, " saved under neither:", eps_unsaved)
aliased.double()  # converts each name's tensor separately, and stores new tensors without the mark
alias_split = aliased.alias is not aliased.mean and aliased.alias.dtype == torch.float64
aliased.mean.copy_(torch.ones(3))  # reaches the alias no longer
alias_split = alias_split and not torch.equal(aliased.alias, aliased.mean)
aliased.late = aliased.std  # a second name given after the conversion
on_meta.late = on_meta.std  # and after a move to the meta device
late_plain = [
    not isinstance(module.std, nn.Buffer)
    and "late" in vars(module)
    and "late" not in dict(module.named_buffers(remove_duplicate=False))
    for module in (aliased, on_meta)
]
# .float() on float32 and .to("cpu") on the CPU change nothing: the tensor stays, mark included.
unchanged = Standardize(3)
mean_before = unchanged.mean
unchanged.float().to("cpu")  # already float32, on the CPU
unchanged_keeps_mark = unchanged.mean is mean_before and isinstance(unchanged.mean, nn.Buffer)
print("after .double(), copy_ into mean reaches the alias:", not alias_split)
print(
    "later names plain:",
    late_plain,
    " an unchanging .float().to('cpu') keeps the mark:",
    unchanged_keeps_mark,
)

assert buffers_text == "mean, std, eps"  # witness: buffer-assignment-registers
assert state_text == "mean, std" and "eps" not in layer.state_dict()  # witness: non-persistent-form
note_marked = isinstance(layer.note, nn.Buffer)
note_plain = "note" in vars(layer) and "note" not in dict(layer.named_buffers())
assert not note_marked and note_plain  # witness: new-name-registers-nothing
assert largest_mean < 1e-4
assert torch.allclose(standardized.std(dim=0), torch.ones(3), atol=1e-4)
assert not buffer_is_source and same_memory_as_source  # witness: buffer-detaches
assert probe.assigned_computed.grad_fn is None  # witness: buffer-no-history
assert probe.assigned_computed.requires_grad  # witness: buffer-keeps-requires-grad
assert registered_is_source  # witness: register-keeps-t
assert probe.registered_computed.grad_fn is computed.grad_fn  # witness: register-keeps-history
plain_but_marked = type(marked) is torch.Tensor and isinstance(marked, nn.Buffer)
assert plain_but_marked and marked._is_buffer and marked.persistent  # witness: buffer-marked
assert not hasattr(probe.registered, "_is_buffer")  # witness: register-adds-no-mark
slot_skipped = slot_is_none and "slot" not in saved and slot_kept_name
assert slot_skipped and probe.empty.numel() == 0 and "empty" in saved  # witness: none-slot
assert copied_dtype == "torch.float64" and copy_kept_buffer  # witness: copy-keeps-buffer
assert wide.mean is data_mean and assigned_dtype == "torch.float32"  # witness: becomes-tensor
assert still_buffers and persistence_kept  # witness: persistence-kept
mean_still_buffer = "mean" in dict(on_meta.named_buffers())
rest_on_meta = on_meta.std.is_meta and on_meta.eps.is_meta
assigned_is_buffer = on_meta.mean is data_mean and mean_still_buffer
assert assigned_device == "cpu" and assigned_is_buffer and rest_on_meta  # witness: assigned-device
brings_persistence = eps_now_saved and other.eps.persistent and mean_now_unsaved
assert brings_persistence  # witness: buffer-brings-persistence
assert std_now_parameter  # witness: parameter-replaces-buffer
assert "already exists" in buffer_over_plain and parameter_over_plain  # witness: buffer-over-plain
refused_as = [message.split(" (")[0].split(" as ")[-1] for message in over_others]
assert refused_as == ["parameter 'weight'", "child module 'linear'"]  # witness: buffer-over-others
assert len(over_others) == 2 and plain_over_others == over_others  # witness: plain-over-others
assert fit_leaves_no_history and unguarded_records_history  # witness: no-grad-keeps-history-out
eps_alias_unsaved = eps_alias_registered and eps_unsaved
alias_registers = alias_registered and alias_saved and alias_yielded_once and alias_one_tensor
assert alias_registers and eps_alias_unsaved  # witness: marked-alias-registers
assert alias_split  # witness: alias-splits
assert late_plain == [True, True]  # witness: conversion-drops-mark
assert unchanged_keeps_mark  # witness: no-change-keeps-mark

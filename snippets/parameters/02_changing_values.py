"""Reading and changing a parameter's values: read with detach(), write under torch.no_grad(),
and what autograd refuses, or misses, otherwise."""

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)  # the model of 01_access.py: the same seed gives the same values
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
weight = model[0].weight  # a leaf that requires grad, (out_features, in_features) = (8, 4)

# Reading values: detach() gives a tensor that autograd does not track; the numbers are shared.
values = model[2].bias.detach()
print("output bias:", values)

# A parameter is a tensor, but while it requires grad and autograd records, some operations
# refuse it.
try:
    weight.numpy()
except RuntimeError as error:
    numpy_message = str(error)
    print("numpy():", numpy_message)
with torch.no_grad():  # with recording off, the same call returns an array
    array_when_off = weight.numpy().shape
forced = weight.numpy(force=True)  # force=True detaches first: no copy on the CPU
forced_shares = np.shares_memory(forced, weight.detach().numpy())
print("numpy(force=True):", forced.shape, " while recording:", torch.is_grad_enabled(), end="")
print("  shares the parameter's memory:", forced_shares)
try:
    weight.add_(0.0)
except RuntimeError as error:
    in_place_message = str(error)
    print("in-place while autograd records:", in_place_message)
leaf_refused = in_place_message.startswith("a leaf Variable that requires grad")
# Editing one row writes into the parameter too, through the view weight[0]: refused as well.
row = weight[0]
try:
    weight[0] = 0.0
except RuntimeError as error:
    view_message = str(error)
    print("weight[0] = 0:", view_message)
view_refused = view_message.startswith("a view of a leaf Variable that requires grad")
# With recording off, the same line writes into the parameter: its row and its version change.
probe = nn.Parameter(torch.ones(2, 2))
with torch.no_grad():
    probe[0] = 0.0
writes_row = probe[0].eq(0).all().item() and probe._version == 1  # _version: private
# The refusal needs requires_grad: a frozen parameter, a leaf too, accepts the change.
frozen = nn.Parameter(torch.ones(2), requires_grad=False)
frozen.add_(1.0)
frozen_changed = torch.is_grad_enabled() and torch.equal(frozen, torch.full((2,), 2.0))
print("frozen parameter, in place: leaf =", frozen.is_leaf, " changed =", frozen_changed)
# weight * 1 is a new tensor: it requires grad too, but it is neither a leaf nor a view of one.
# numpy() still refuses it, while an in-place change is allowed.
computed = weight * 1
try:
    computed.numpy()
except RuntimeError as error:
    computed_numpy_message = str(error)
own_memory = computed.untyped_storage().data_ptr() != weight.untyped_storage().data_ptr()
computed.add_(1.0)
computed_changed = torch.equal(computed.detach(), weight.detach() + 1)
print("weight * 1: leaf =", computed.is_leaf, " memory of its own =", own_memory, end="  ")
print("requires_grad =", computed.requires_grad, " changed in place =", computed_changed)
with torch.no_grad():
    unrecorded = weight * 1  # the same product, but autograd records nothing: a leaf
print("weight * 1 under no_grad(): leaf =", unrecorded.is_leaf)

# The call is allowed on a frozen parameter, but a backward pass that saved the old value fails.
x_in = torch.ones(2, requires_grad=True)
product = (x_in * frozen).sum()  # saves frozen: d(product)/d(x_in) = frozen
added = (x_in + frozen).sum()  # saves nothing of frozen: d(added)/d(x_in) = 1
frozen.add_(1.0)
try:
    product.backward()
except RuntimeError as error:
    frozen_backward_message = str(error)
    print("backward after changing the saved frozen parameter:", frozen_backward_message[:52])
added.backward()  # works: the change did not touch anything this backward pass saved
added_grad_ok = torch.equal(x_in.grad, torch.ones(2))
# It stays frozen only if autograd does not record the write: copy_(source) joins source's graph.
source = torch.ones(2, requires_grad=True)
copied = nn.Parameter(torch.zeros(2), requires_grad=False)
copied_off = nn.Parameter(torch.zeros(2), requires_grad=False)
copied.copy_(source)
with torch.no_grad():
    copied_off.copy_(source)
for label, p in (("copy_(source)", copied), ("copy_(source) under no_grad()", copied_off)):
    print(f"frozen, then {label}: leaf = {p.is_leaf}, requires_grad = {p.requires_grad}")
copied.sum().backward()  # the backward pass goes through the "frozen" parameter to source

# With gradient recording switched off, the in-place change is allowed, although the parameter
# still requires grad.
allowed_when_off = []
for switch_off in (torch.no_grad, lambda: torch.set_grad_enabled(False), torch.inference_mode):
    with switch_off():
        before = weight.detach().clone()
        weight.add_(1.0)
        changed = torch.equal(weight, before + 1)
        allowed_when_off.append((changed, weight.requires_grad, torch.is_grad_enabled()))
print("recording off, 3 ways (changed, requires_grad, recording):", *set(allowed_when_off))
# The nn.init functions switch recording off themselves: they work on a parameter directly.
# Each in-place function of nn.init, on a parameter of its own, while autograd records:
init_leaves = {}
for name in [name for name in nn.init.__all__ if name.endswith("_")]:
    initialized = nn.Parameter(torch.full((3, 2, 3) if name == "dirac_" else (3, 3), 7.0))
    getattr(nn.init, name)(initialized, *{"constant_": (0.5,), "sparse_": (0.5,)}.get(name, ()))
    # A write through the parameter (not through .data, which has a counter of its own) counts.
    # (_version is private: read here only to show the counter.)
    written = initialized._version > 0 and not bool(torch.all(initialized == 7.0))
    init_leaves[name] = written and initialized.is_leaf and initialized.requires_grad
init_direct = torch.is_grad_enabled() and all(init_leaves.values())
print(
    f"all {len(init_leaves)} nn.init functions ending in _ write in place, leaving a leaf:",
    init_direct,
)


# .data versus detach(): change a value in place after the forward pass has used it.
def grad_after_edit(edit_through: str | None) -> float | str:
    w = nn.Parameter(torch.tensor([2.0]))
    loss = (w * w).sum()  # backward needs the value of w: d(w*w)/dw = 2w = 4
    if edit_through == "detach().numpy()":
        array = w.detach().numpy()
        array *= 10  # a NumPy operation on the same memory: w is now 20
    elif edit_through == "no_grad()":
        with torch.no_grad():
            w.mul_(10)  # the parameter itself, with recording off
    elif edit_through is not None:
        view = w.data if edit_through == ".data" else w.detach()
        view.mul_(10)  # w is now 20
    try:
        loss.backward()
    except RuntimeError as error:
        return f"{type(error).__name__}: {str(error).split(':')[0]}"
    return w.grad.item()


true_grad = grad_after_edit(None)
detach_edit = grad_after_edit("detach()")
no_grad_edit = grad_after_edit("no_grad()")
data_grad = grad_after_edit(".data")
numpy_grad = grad_after_edit("detach().numpy()")
print("no edit, the right gradient:", true_grad)
print("edited through detach():    ", detach_edit)
print("edited under no_grad():     ", no_grad_edit)
print("edited through .data:       ", data_grad)
print("edited through NumPy:       ", numpy_grad)


def grad_after_edit_under_hooks() -> float | str:
    """The no_grad() edit again, its forward pass under saved-tensor hooks (save_on_cpu)."""
    w = nn.Parameter(torch.tensor([2.0]))
    with torch.autograd.graph.save_on_cpu():
        loss = (w * w).sum()
    with torch.no_grad():
        w.mul_(10)
    try:
        loss.backward()
    except RuntimeError as error:
        return f"{type(error).__name__}: {str(error).split(':')[0]}"
    return w.grad.item()


hooks_edit = grad_after_edit_under_hooks()
print("the same with save_on_cpu():", hooks_edit)
# Autograd notices in-place changes by a version counter that only PyTorch operations advance.
# The parameter, its views and its detach()es share one; .data gets a counter of its own.
tracked = nn.Parameter(torch.zeros(1))
detached, row_view, data_view = tracked.detach(), tracked[0:1], tracked.data
with torch.no_grad():
    tracked.add_(0.0)
counter_shared = detached._version == row_view._version == tracked._version == 1
print("versions after one change: parameter, detach(), view, .data:", end=" ")
print(tracked._version, detached._version, row_view._version, data_view._version)
tracked_version, array = tracked._version, tracked.detach().numpy()
array += 1  # changes the parameter, but not its version counter
numpy_write_unseen = tracked.item() == 1.0 and tracked._version == tracked_version

refused_while_recording = numpy_message.startswith("Can't call numpy()")
refused_while_recording = refused_while_recording and array_when_off == (8, 4)
assert refused_while_recording  # witness: numpy-refuses
forced_detached = torch.is_grad_enabled() and forced.shape == (8, 4) and forced_shares
assert forced_detached  # witness: numpy-force
assert computed.requires_grad and (  # witness: numpy-refuses-computed
    computed_numpy_message.startswith("Can't call numpy()")
)
bare = nn.Parameter(torch.zeros(1))  # made with the default arguments
bare_message = "no error"
try:
    bare.add_(0.0)
except RuntimeError as error:
    bare_message = str(error)
leaf_refused = leaf_refused and bare_message.startswith("a leaf Variable that requires grad")
default_leaves = all(p.is_leaf and p.requires_grad for p in (weight, bare))
assert default_leaves and leaf_refused  # witness: in-place-needs-no-grad
is_view = row._base is weight  # _base (private) is the tensor a view looks into
assert is_view and view_refused and writes_row  # witness: view-in-place-refused
assert frozen.is_leaf and not frozen.requires_grad and frozen_changed  # witness: frozen-in-place
assert (  # witness: non-leaf-in-place-allowed
    computed.requires_grad and not computed.is_leaf and own_memory and computed_changed
)
# A tensor from a factory function, a Parameter, and the unrecorded product are leaves.
leaves = (source.is_leaf, bare.is_leaf, unrecorded.is_leaf, computed.is_leaf)
assert leaves == (True, True, True, False)  # witness: leaf-means-unrecorded
saved_value_failed = "one of the variables needed" in frozen_backward_message
no_grad_change_fails = "one of the variables needed" in no_grad_edit  # w * w, then w under no_grad
saved_value_checks = saved_value_failed and no_grad_change_fails and added_grad_ok
assert saved_value_checks  # witness: saved-value-fails-later
assert hooks_edit == 40.0  # witness: hooks-skip-check
assert (  # witness: frozen-copy-unfreezes
    not copied.is_leaf and copied.requires_grad and torch.equal(source.grad, torch.ones(2))
)
assert copied_off.is_leaf and not copied_off.requires_grad  # witness: frozen-copy-no-grad
assert allowed_when_off == [(True, True, False)] * 3  # witness: in-place-allowed-when-off
assert init_direct  # witness: init-works-on-parameter
assert not values.requires_grad and values.data_ptr() == model[2].bias.data_ptr()  # witness: detach
assert "one of the variables needed" in detach_edit  # witness: detach-noticed
assert (  # witness: counter-shared-with-parameter
    "one of the variables needed" in no_grad_edit and counter_shared and data_view._version == 0
)
assert (true_grad, data_grad) == (4.0, 40.0)  # witness: data-silent
assert numpy_grad == 40.0 and numpy_write_unseen  # witness: numpy-write-unnoticed

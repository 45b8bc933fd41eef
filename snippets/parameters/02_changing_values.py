"""Reading and changing a parameter's values: what autograd refuses while it records, what it
allows, and why to read with detach() and write under torch.no_grad()."""

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

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
# The refusal needs requires_grad: a frozen parameter, a leaf too, accepts the change.
frozen = nn.Parameter(torch.ones(2), requires_grad=False)
frozen.add_(1.0)
frozen_changed = torch.is_grad_enabled() and torch.equal(frozen, torch.full((2,), 2.0))
print("frozen parameter, in place: leaf =", frozen.is_leaf, " changed =", frozen_changed)
# The call is allowed, but a backward pass that saved the old value fails later.
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
print("backward of x_in + frozen after the same change: x_in.grad =", x_in.grad)
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
# A view of the parameter, such as the row weight[0], is refused too.
row = weight[0]
try:
    weight[0] = 0.0
except RuntimeError as error:
    view_message = str(error)
    print("weight[0] = 0:", view_message)
view_refused = view_message.startswith("a view of a leaf Variable that requires grad")
# weight * 1 is a new tensor: it requires grad too, but it is not a leaf, nor a view of one.
# numpy() still refuses it, while an in-place change is allowed, on it and on a row.
computed = weight * 1
try:
    computed.numpy()
except RuntimeError as error:
    computed_numpy_message = str(error)
computed.add_(1.0)
computed_changed = torch.equal(computed.detach(), weight.detach() + 1)
computed_row = computed[0]  # a view of computed, taken first; then the write goes through it
computed_row.zero_()
row_written = computed[0].count_nonzero() == 0 and type(computed.grad_fn).__name__ == "CopySlices"
computed_row_changed = computed_row._base is computed and row_written
# Not every operation makes a new tensor: reshape() returns a view of the parameter here, and
# float() on a float32 parameter returns the parameter itself. Both are refused.
reshaped_refused = {}
for label, make in (("reshape(32)", lambda: weight.reshape(32)), ("float()", weight.float)):
    try:
        make().add_(0.0)
    except RuntimeError as error:
        reshaped_refused[label] = str(error)
print("weight * 1: leaf =", computed.is_leaf, " view =", computed._base is not None)
print("  requires_grad =", computed.requires_grad, " changed in place =", computed_changed)
print("  its row 0, a view, set to 0 in place:", bool(computed_row_changed))
# Not every view of it accepts the change: views from chunk(), split() and unbind() (though not
# those of tensor_split()), and one made under no_grad(), are refused.
with torch.no_grad():
    row_made_off = computed[2]
refused_views = {}
for label, make in (
    ("chunk()", lambda: computed.chunk(2)[0]),
    ("split()", lambda: computed.split(1)[1]),
    ("unbind()", lambda: computed.unbind(0)[1]),
    ("under no_grad()", lambda: row_made_off),
):
    try:
        make().zero_()
    except RuntimeError as error:
        refused_views[label] = str(error)
print("  its views refused in place:", ", ".join(refused_views))
print("  chunk():", refused_views.get("chunk()", "").split(". ")[1])
print("in place on weight.reshape(32), weight.float(): refused", len(reshaped_refused) == 2)
with torch.no_grad():
    unrecorded = weight * 1  # the same product, but autograd records nothing: a leaf
print("weight * 1 under no_grad(): leaf =", unrecorded.is_leaf, end="  ")
print("requires_grad =", unrecorded.requires_grad)
# With gradient recording switched off, numpy() and the in-place change are both allowed,
# although the parameter still requires grad. (_version counts the in-place changes.)
allowed_when_off = []
for switch_off in (torch.no_grad, lambda: torch.set_grad_enabled(False), torch.inference_mode):
    with switch_off():
        version = weight._version
        weight.add_(0.0)
        changed, array_shape = weight._version == version + 1, weight.numpy().shape
        requires, recording = weight.requires_grad, torch.is_grad_enabled()
        allowed_when_off.append((changed, array_shape, requires, recording))
print("recording off, 3 ways (changed, numpy() shape, requires_grad, recording):", end=" ")
print(*set(allowed_when_off))


class WriteRecorder(TorchDispatchMode):
    """Notes each operation that writes into `target`'s memory, as autograd passes it on:
    (name, written through `target` or a view of it, autograd on?)."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target, self.calls = target, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        memory = self.target.untyped_storage().data_ptr()
        for i, argument in enumerate(func._schema.arguments):
            t = args[i] if i < len(args) else kwargs.get(argument.name)
            writes = argument.alias_info is not None and argument.alias_info.is_write
            if writes and isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() == memory:
                through = t is self.target or t._base is self.target
                self.calls.append((func.__name__.split(".")[0], through, torch.is_grad_enabled()))
        return func(*args, **kwargs)


# Every in-place function of nn.init (no error: how do they write into a parameter?).
init_calls = {}
for name in [name for name in nn.init.__all__ if name.endswith("_")]:
    initialized = nn.Parameter(torch.empty((3, 2, 3) if name == "dirac_" else (3, 3)))
    with WriteRecorder(initialized) as recorder:
        getattr(nn.init, name)(initialized, *{"constant_": (0.5,), "sparse_": (0.5,)}.get(name, ()))
    init_calls[name] = recorder.calls
print("writes into the parameter by nn.init.zeros_ (name, through it, grad on):", end=" ")
print(init_calls["zeros_"])
init_writes = [call for calls in init_calls.values() for call in calls]
init_no_grad = all(through and not grad_on for _, through, grad_on in init_writes)
print(f"  by all {len(init_calls)} in-place nn.init functions, through it with grad off:", end=" ")
print(init_no_grad)


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

assert numpy_message.startswith("Can't call numpy()")  # witness: numpy-refuses
forced_detached = torch.is_grad_enabled() and forced.shape == (8, 4) and forced_shares
assert forced_detached  # witness: numpy-force
assert computed_numpy_message.startswith("Can't call numpy()")  # witness: numpy-refuses-computed
assert weight.is_leaf and weight.requires_grad and leaf_refused  # witness: in-place-needs-no-grad
assert frozen.is_leaf and not frozen.requires_grad and frozen_changed  # witness: frozen-in-place
saved_value_failed = "one of the variables needed" in frozen_backward_message
assert saved_value_failed and added_grad_ok  # witness: saved-value-fails-later
assert (  # witness: frozen-copy-unfreezes
    not copied.is_leaf and copied.requires_grad and torch.equal(source.grad, torch.ones(2))
)
assert copied_off.is_leaf and not copied_off.requires_grad  # witness: frozen-copy-no-grad
assert not row.is_leaf and row._base is weight and view_refused  # witness: view-in-place-refused
assert (  # witness: non-leaf-in-place-allowed
    computed.requires_grad and not computed.is_leaf and computed._base is None and computed_changed
)
# A tensor from a factory function, a Parameter, and the unrecorded product are leaves.
leaves = (source.is_leaf, weight.is_leaf, unrecorded.is_leaf, computed.is_leaf)
assert leaves == (True, True, True, False)  # witness: leaf-means-unrecorded
assert (  # witness: non-leaf-view-in-place-allowed
    computed_row.requires_grad and not computed_row._base.is_leaf and computed_row_changed
)
reshape_is_view = weight.reshape(32)._base is weight and weight.float() is weight
refusals = reshaped_refused.get("reshape(32)", ""), reshaped_refused.get("float()", "")
refused_as_leaf = refusals[0].startswith("a view of a leaf") and refusals[1].startswith("a leaf")
assert reshape_is_view and refused_as_leaf  # witness: not-every-op-copies
several_outputs = [refused_views.get(f"{name}()", "") for name in ("chunk", "split", "unbind")]
multi_output_refused = all("a function that returns multiple views" in m for m in several_outputs)
made_off = refused_views.get("under no_grad()", "")
no_grad_view_refused = made_off.startswith("A view was created in no_grad mode")
assert multi_output_refused and no_grad_view_refused  # witness: other-views-refused
assert allowed_when_off == [(True, (8, 4), True, False)] * 3  # witness: in-place-allowed-when-off
assert init_calls["zeros_"] == [("zero_", True, False)]
every_init_writes = len(init_calls) == 14 and all(init_calls.values())
assert every_init_writes and init_no_grad  # witness: init-uses-no-grad
assert not values.requires_grad and values.data_ptr() == model[2].bias.data_ptr()  # witness: detach
assert "one of the variables needed" in detach_edit  # witness: detach-noticed
assert (  # witness: counter-shared-with-parameter
    "one of the variables needed" in no_grad_edit and counter_shared and data_view._version == 0
)
assert (true_grad, data_grad) == (4.0, 40.0)  # witness: data-silent
assert numpy_grad == 40.0 and numpy_write_unseen  # witness: numpy-write-unnoticed

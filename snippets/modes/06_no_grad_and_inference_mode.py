"""no_grad and inference_mode record no graph; inference tensors cannot be saved for backward."""

import threading
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
backbone = nn.Linear(4, 3).to(device)  # computes features; not trained here
head = nn.Linear(3, 1).to(device)  # the part we train
x = torch.randn(8, 4).to(device)
weight_before = backbone.weight.detach().clone()


def records_in_a_new_thread() -> bool:
    """Whether a thread started now records backbone's output (grad mode is per thread)."""
    seen = []
    thread = threading.Thread(target=lambda: seen.append(backbone(x).requires_grad))
    thread.start()
    thread.join()
    return seen[0]


in_thread = []
views = {}  # a view of backbone.weight taken inside each context
with torch.no_grad():
    features_no_grad = backbone(x)
    in_thread.append(records_in_a_new_thread())
    views["no_grad"] = backbone.weight[0]
with torch.inference_mode():
    features_inference = backbone(x)  # new memory: an inference tensor
    in_thread.append(records_in_a_new_thread())
    views["inference_mode"] = backbone.weight[0]  # a view of an ordinary tensor
first_row = views["inference_mode"]
print("inside inference_mode: new result", features_inference.is_inference(), end="")
print(", view of backbone.weight", first_row.is_inference())
# An ordinary view of its base, and, as under no_grad, not recorded: no gradient reaches the base.
# It still reports requires_grad=True, so backward() through it raises no error, and it leaves
# no gradient on the view either.
view_cut_off = {}
with warnings.catch_warnings(record=True) as view_warnings:  # nothing warns, either
    warnings.simplefilter("always")
    for name, view in views.items():
        view.sum().backward()
        ordinary_view = view._base is backbone.weight and not view.is_inference()
        no_gradient = view.requires_grad and view.grad is None and backbone.weight.grad is None
        view_cut_off[name] = ordinary_view and view.grad_fn is None and no_gradient
print("views taken inside, cut off from their base:", view_cut_off)
print("a thread started inside no_grad, inside inference_mode, records:", in_thread)

for name, t in (("no_grad", features_no_grad), ("inference_mode", features_inference)):
    flags = f"requires_grad={t.requires_grad}, grad_fn={t.grad_fn}"
    print(f"{name:15} {flags}, is_inference={t.is_inference()}")
backbone_untouched = (  # the contexts leave parameters alone
    torch.equal(backbone.weight, weight_before)
    and backbone.weight.requires_grad
    and not backbone.weight.is_inference()
)
same_values = torch.equal(features_no_grad, features_inference)  # bit for bit

# Features from no_grad are ordinary tensors: a head can be trained on them.
head(features_no_grad).sum().backward()
head_grad_from_no_grad = head.weight.grad is not None

# Inference tensors cannot be saved for backward, and Linear must save its input (for its weight's
# gradient): the forward pass raises, before any backward().
try:
    head(features_inference)
    message = "no error"
except RuntimeError as error:
    message = f"{type(error).__name__}: {error}"
print(message)

# Saving is the problem, not recording: w + f saves nothing, w * f saves f for w's gradient.
w = torch.ones(3, device=device, requires_grad=True)
(features_inference + w).sum().backward()
add_backpropagates = w.grad is not None
# What each node saves, seen on ordinary features: AddBackward0 keeps no tensor (only alpha), while
# MulBackward0 keeps the features, as _saved_self, for w's gradient.
add_node, mul_node = (features_no_grad + w).grad_fn, (features_no_grad * w).grad_fn
add_saved = [getattr(add_node, name) for name in dir(add_node) if name.startswith("_saved_")]
add_saves_no_tensor = not any(isinstance(value, torch.Tensor) for value in add_saved)
mul_saves_features = torch.equal(mul_node._saved_self, features_no_grad)
try:
    (features_inference * w).sum().backward()
    multiply_message = ""
except RuntimeError as error:
    multiply_message = f"{type(error).__name__}: {error}"
print("inference tensor + w: backward works", add_backpropagates, end="")
print(" | inference tensor * w:", multiply_message.split(".")[0])

# A head whose weight is frozen, on features that need no gradient, saves nothing (no tensor in its
# node): with a trainable bias it is
# still recorded, and the bias trains. Fully frozen, it records nothing at all, and the same call
# works too.
# (On MPS, by torch's source, linear's backward node saves the input and the weight whenever the
# input or a parameter needs a gradient: not checked there.)
bias_only_trains = linear_saves_input = device.type == "mps"
if device.type != "mps":
    # linear runs addmm there, whose node keeps the input as _saved_mat1, for the weight's gradient.
    linear_saves_input = torch.equal(head(features_no_grad).grad_fn._saved_mat1, features_no_grad)
    bias_only_head = nn.Linear(3, 1).to(device)
    bias_only_head.weight.requires_grad_(False)
    bias_only_out = bias_only_head(features_inference)
    node = bias_only_node = bias_only_out.grad_fn
    bias_only_saved = [getattr(node, name) for name in dir(node) if name.startswith("_saved_")]
    saves_no_tensor = not any(isinstance(value, torch.Tensor) for value in bias_only_saved)
    bias_only_out.sum().backward()
    bias_only_trains = bias_only_node is not None and bias_only_head.bias.grad is not None
    bias_only_trains &= saves_no_tensor
    print("head with a frozen weight and a trainable bias: backward works", bias_only_trains)
frozen_head = nn.Linear(3, 1).to(device).requires_grad_(False)
frozen_head_runs = frozen_head(features_inference).shape == (8, 1)

# No version counter. An in-place change outside the context raises, here after it is made.
before_add = features_inference.clone()
refused = []
for attempt in (lambda: features_inference._version, lambda: features_inference.add_(1)):
    try:
        attempt()
    except RuntimeError as error:
        refused.append(f"{type(error).__name__}: {error}".split(".")[0])
print(*refused, sep="\n")
added_anyway = torch.equal(features_inference, before_add + 1)
print("the tensor was changed all the same:", added_anyway)
# In-place ops on the whole alias (.detach() or .data, which report is_inference() too) go in
# with no error.
alias, data_alias = features_inference.detach(), features_inference.data
alias.add_(1)
data_alias.mul_(0.9)
detach_bypasses = alias.is_inference() and data_alias.is_inference()
detach_bypasses &= torch.equal(features_inference, (before_add + 1 + 1) * 0.9)
print("through .detach() and .data, with no error:", detach_bypasses)
# A write into a row of the alias, a view of it, raises after the write.
with torch.inference_mode():
    table = torch.ones(2, 3, device=device)  # an inference tensor of its own for this write
try:
    table.data[0] = 0
    row_write_error = "no error"
except RuntimeError as error:
    row_write_error = str(error).split(".")[0]
print("table.data[0] = 0:", row_write_error)
row_changed = torch.equal(table[0], torch.zeros(3, device=device))
print("changed anyway:", row_changed)
# A Parameter made outside the block reports True once its .data is set from an inference tensor,
# as a lazy layer's first call inside the block does.
outside = nn.Parameter(torch.zeros(3, device=device))
with torch.inference_mode():
    made_inside = torch.ones(3, device=device)
outside.data = made_inside
data_set_from_inference = outside.is_inference() and outside.requires_grad
print("a Parameter whose .data is set from one: is_inference()", outside.is_inference())
# The reverse: a Linear built inside the block, its parameters' .data set to ordinary clones.
with torch.inference_mode():
    built_inside = nn.Linear(4, 2, device=device)
for parameter in built_inside.parameters():
    parameter.data = parameter.data.clone()
reports_ordinary = not any(p.is_inference() for p in built_inside.parameters())
try:
    built_inside(torch.ones(1, 4, device=device))
    clone_data_forward = "no error"
except RuntimeError as error:
    clone_data_forward = str(error).split(".")[0]
print(
    "its .data set to clones: is_inference()",
    not reports_ordinary,
    "| forward:",
    clone_data_forward,
)

# clone() outside inference mode makes an ordinary tensor from an inference tensor.
head.zero_grad()
head(features_inference.clone()).sum().backward()
clone_works = head.weight.grad is not None and not features_inference.clone().is_inference()
print("after clone():", clone_works)

# Their booleans point opposite ways: set_grad_enabled(False) stops recording, like no_grad;
# inference_mode(False) turns it on, even inside no_grad.
with torch.set_grad_enabled(False):
    off = backbone(x)
with torch.inference_mode(False):
    on = backbone(x)
with torch.no_grad(), torch.inference_mode(False):  # the inner switch wins
    on_inside_no_grad = backbone(x)
boolean_switches = (
    not off.requires_grad
    and off.grad_fn is None
    and on.requires_grad
    and not on.is_inference()
    and on_inside_no_grad.grad_fn is not None
)
print("set_grad_enabled(False) records:", off.requires_grad, end="")
print(" | inference_mode(False) records:", on.requires_grad, end="")
print(", inside no_grad too:", on_inside_no_grad.grad_fn is not None)
# Inside inference_mode, set_grad_enabled(True) turns grad mode on but records nothing, and makes
# inference tensors still; only inference_mode(False) leaves the enclosing block.
with torch.inference_mode():
    with torch.set_grad_enabled(True):
        grad_mode_on = torch.is_grad_enabled()
        grad_enabled_out = backbone(x)
    with torch.inference_mode(False):
        inference_off_out = backbone(x)
print("inside inference_mode, set_grad_enabled(True) records:", end=" ")
print(grad_enabled_out.requires_grad, end="")
print(" | inference_mode(False) records:", inference_off_out.grad_fn is not None)
grad_enabled_records_nothing = grad_mode_on and grad_enabled_out.is_inference()
grad_enabled_records_nothing &= grad_enabled_out.grad_fn is None
inference_off_records = inference_off_out.grad_fn is not None
inference_off_records &= not inference_off_out.is_inference()

neither_records = not features_no_grad.requires_grad and not features_inference.requires_grad
assert neither_records  # witness: no-graph
assert in_thread == [True, True]  # witness: per-thread
assert features_inference.is_inference()  # witness: inference-tensors
assert not first_row.is_inference()  # witness: views-stay-ordinary
recorded_view = backbone.weight[0].grad_fn is not None  # outside both: a recorded view
silently_cut_off = all(view_cut_off.values()) and not view_warnings
assert silently_cut_off and recorded_view  # witness: views-not-tracked
assert same_values  # witness: same-values
assert backbone_untouched  # witness: parameters-untouched
no_grad_features_ordinary = not features_no_grad.is_inference() and head_grad_from_no_grad
assert no_grad_features_ordinary  # witness: no-grad-features-train
assert message.startswith("RuntimeError: Inference tensors cannot be saved for backward")
assert add_backpropagates and add_saves_no_tensor  # witness: add-saves-nothing
multiply_raises = multiply_message.startswith("RuntimeError: Inference tensors cannot be saved")
assert multiply_raises and mul_saves_features  # witness: multiply-saves
assert linear_saves_input  # witness: linear-saves-input
assert bias_only_trains and frozen_head_runs  # witness: saving-is-the-problem
no_version = refused[0].startswith("RuntimeError: Inference tensors do not track version")
assert no_version  # witness: no-version
inplace_refused = refused[1].startswith("RuntimeError: Inplace update to inference tensor")
assert added_anyway and inplace_refused  # witness: inplace-raises-after-change
aliases_report_inference = alias.is_inference() and data_alias.is_inference()
aliases_report_inference &= features_inference[0].is_inference()  # and a view of one
assert aliases_report_inference  # witness: aliases-report-inference
assert data_set_from_inference  # witness: data-set-reports-inference
no_counter = clone_data_forward.startswith("Inference tensors do not track version counter")
assert reports_ordinary and no_counter  # witness: data-clone-still-fails
assert detach_bypasses  # witness: detach-bypasses
view_raises_after = row_write_error.startswith("Inplace update to inference tensor")
assert view_raises_after and row_changed  # witness: view-write-raises-after
assert clone_works  # witness: clone-makes-ordinary
assert boolean_switches  # witness: boolean-switches
only_inference_off = grad_enabled_records_nothing and inference_off_records
assert only_inference_off  # witness: only-inference-mode-false-leaves

"""One forward pass (the "dry run") gives every lazy layer its shape and turns it into nn.Linear."""

import contextlib
import itertools
import math
import re

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter, is_lazy

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def dry_run(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Materialize every lazy layer with one forward pass that updates no state."""
    modes = {module: module.training for module in model.modules()}  # each module's own flag
    model.eval()  # batch norm then uses its running statistics instead of updating them
    try:
        with torch.no_grad():  # only the shapes are needed, not a graph for backward
            model(example)
    finally:  # even if the forward pass raises
        for module, training in modes.items():
            module.training = training  # not module.train(): that would also set all its children
    tensors = itertools.chain(model.named_parameters(), model.named_buffers())
    leftover = [name for name, tensor in tensors if is_lazy(tensor)]
    if leftover:  # for example a branch that eval() mode skips
        raise RuntimeError(f"still lazy after the dry run: {leftover}")
    return model


model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
model.to(device)  # move first: on a GPU, the parameters are then created there
lazy_layer, placeholder = model[0], model[0].weight
placeholder_moved = type(placeholder) is UninitializedParameter
placeholder_moved &= placeholder.device.type == device.type

dry_run(model, torch.zeros(2, 20, device=device))  # a batch of 2 examples with 20 features
print(model)

first, last = model[0], model[2]
layer_type = type(first).__name__
weight_type = type(first.weight).__name__
same_object = first is lazy_layer and first.weight is placeholder
first_weight_shape = tuple(first.weight.shape)
last_weight_shape = tuple(last.weight.shape)
parameter_count = sum(p.numel() for p in model.parameters())
print(
    f"layer type {layer_type}, weight type {weight_type}, "
    f"same Python objects as before: {same_object}"
)
print(f"weights {first_weight_shape} and {last_weight_shape}, {parameter_count} parameters")
print("on", first.weight.device, "and trainable:", first.weight.requires_grad)

# A lazy layer's own forward() skips its hooks, and the hook is what materializes it...
lonely = nn.LazyLinear(3)
try:
    lonely.forward(torch.zeros(2, 20))
except ValueError as error:
    direct_forward_message = str(error)
    print(f"LazyLinear.forward() called directly: {direct_forward_message[:45]}...")
# ...but Sequential.forward calls each child as child(x), so the children's hooks do run.
fresh = nn.Sequential(nn.LazyLinear(4), nn.ReLU())
fresh.forward(torch.zeros(2, 20))
print("Sequential.forward() called directly:", fresh[0])

# .to() keeps a parameter object, changing its data only, if the converted tensor is of a
# compatible kind; otherwise it puts a new Parameter in its place.
probe = nn.LazyLinear(4).weight
compatible = torch._has_compatible_shallow_copy_type
cast_compatible = compatible(probe, probe.to(torch.float64))
meta_compatible = compatible(probe, probe.to("meta"))
device_compatible = compatible(probe, probe.to(device))
print(f"compatible after a cast: {cast_compatible}, after a move to meta: {meta_compatible}")
# So casting placeholders to another dtype keeps them (with the default conversion, see the page)...
cast = nn.Sequential(nn.LazyLinear(4)).to(torch.float64)
cast_type = type(cast[0].weight).__name__
cast(torch.zeros(2, 20, dtype=torch.float64))
print(f"cast to float64 before the dry run: still {cast_type}, then", cast[0].weight.dtype)
# Not every cast method is on the placeholder's list: bfloat16() is not, but .to(bfloat16) is.
casts = ("half", "float", "double", "bfloat16", "char", "short", "int", "long", "byte", "bool")


def lets_through(cast_name: str) -> bool:
    try:
        getattr(UninitializedParameter(), cast_name)()
    except ValueError:  # "Attempted to use an uninitialized parameter in <method ...>"
        return False
    return True


allowed_casts = [name for name in casts if lets_through(name)]
print("cast methods a placeholder lets through:", ", ".join(allowed_casts))
refused_shortcuts = []  # nor are the move methods other than cuda() and cpu()
for shortcut in ("bfloat16", "xpu", "mtia", "ipu"):
    try:
        getattr(nn.Sequential(nn.LazyLinear(4)), shortcut)()
    except ValueError as error:
        refused_shortcuts.append(re.search(r"method '(\w+)'", str(error)).group(1))
print("model methods refused before the dry run:", ", ".join(refused_shortcuts))
to_bfloat16 = nn.Sequential(nn.LazyLinear(4)).to(torch.bfloat16)
to_bfloat16_type = type(to_bfloat16[0].weight).__name__
to_bfloat16(torch.zeros(2, 20, dtype=torch.bfloat16))
print(f"model.to(torch.bfloat16): still {to_bfloat16_type}, then", to_bfloat16[0].weight.dtype)
# ...but .to("meta") replaces each placeholder by an ordinary, empty Parameter: laziness is lost.
on_meta = nn.Sequential(nn.LazyLinear(4)).to("meta")
meta_weight_type = type(on_meta[0].weight).__name__
meta_weight_shape = tuple(on_meta[0].weight.shape)
try:
    on_meta(torch.zeros(2, 20, device="meta"))
except AssertionError as error:
    meta_message = str(error)
    print(f"moved to meta: a {meta_weight_type} of shape {meta_weight_shape}; run:")
    print(" ", meta_message)
# The opt-in conversions that replace or swap parameters turn even a dtype cast into that, and a
# .to() that changes nothing (the device the model is already on) raises.
future_casts, future_noop_errors = [], []
for flag in ("overwrite_module_params_on_conversion", "swap_module_params_on_conversion"):
    previous = getattr(torch.__future__, f"get_{flag}")()
    getattr(torch.__future__, f"set_{flag}")(True)
    try:
        future_cast = nn.Sequential(nn.LazyLinear(4)).to(torch.float64)
        try:
            nn.Sequential(nn.LazyLinear(4, device=device)).to(device)
        except (ValueError, RuntimeError) as error:
            future_noop_errors.append(f"{type(error).__name__}: {str(error).split(' of ')[0]}")
    finally:
        getattr(torch.__future__, f"set_{flag}")(previous)
    future_casts.append(type(future_cast[0].weight).__name__)
print("cast with the opt-in conversions:", future_casts)
print("moved to the device it is already on, with the opt-in conversions:")
for line in future_noop_errors:
    print(" ", line)
# to_empty allocates with torch.empty_like, which a placeholder does not let through.
try:
    nn.Sequential(nn.LazyLinear(4)).to_empty(device=device)
except ValueError as error:
    to_empty_message = str(error)
    to_empty_refused = re.search(r"method (\w+)", to_empty_message).group(1)
    print(f"to_empty before the dry run: {to_empty_message.split(' in ')[0]} in {to_empty_refused}")

# The input size is now fixed: another width is an ordinary shape error.
try:
    model(torch.zeros(2, 30, device=device))
except RuntimeError as error:
    wrong_width_message = str(error)
    print(f"{type(error).__name__}: {wrong_width_message}")


# The batch's values matter to batch norm in training mode: it learns statistics from them.
def with_batch_norm() -> nn.Sequential:
    return nn.Sequential(nn.LazyLinear(8), nn.LazyBatchNorm1d(), nn.ReLU()).to(device)


in_training = with_batch_norm()  # a new module is in training mode
with torch.no_grad():
    in_training(torch.zeros(2, 20, device=device))
moved_var = in_training[1].running_var
moved_tracked = in_training[1].num_batches_tracked.item()
print(f"dry run in training mode: running_var {moved_var[0].item():.2f}, batches {moved_tracked}")
one_row = with_batch_norm()
try:
    one_row(torch.zeros(1, 20, device=device))
except ValueError as error:
    one_row_message = str(error).split(",")[0]
    print(f"one example in training mode: {type(error).__name__}: {one_row_message}")
one_row_types = [type(layer).__name__ for layer in one_row]
one_row_tracked = one_row[1].num_batches_tracked.item()
one_row_mean, one_row_var = one_row[1].running_mean, one_row[1].running_var
print(f"  yet the layers became {one_row_types}, and batches counted: {one_row_tracked}")
print(f"  running_mean {one_row_mean[0].item():.2f}, running_var {one_row_var[0].item():.2f}")
# With momentum=None the running statistics are the average over the batches counted, so the
# refused row takes half the weight from the first real batch.
cumulative = nn.LazyBatchNorm1d(momentum=None).to(device)
with contextlib.suppress(ValueError):  # the refused row, as above
    cumulative(torch.zeros(1, 20, device=device))
first_batch = torch.arange(1.0, 41.0).reshape(2, 20).to(device)
with torch.no_grad():
    cumulative(first_batch)
    unrefused = nn.LazyBatchNorm1d(momentum=None).to(device)
    unrefused(first_batch)
cumulative_share = (cumulative.running_mean / first_batch.mean(0)).mean().item()
unrefused_share = (unrefused.running_mean / first_batch.mean(0)).mean().item()
print(
    f"  momentum=None: the first real batch gets a weight of {cumulative_share:.2f} "
    f"({unrefused_share:.2f} without the refused row)"
)

evaluated = dry_run(with_batch_norm(), torch.zeros(1, 20, device=device))[1]
kept_var = evaluated.running_var
kept_tracked = evaluated.num_batches_tracked.item()
print(f"dry run in eval mode: running_var {kept_var[0].item():.2f}, batches {kept_tracked}")

# A batch norm without running statistics normalizes with the batch's own, in eval() mode too:
# one example is then refused, and the helper still restores the modes.
untracked = nn.Sequential(nn.LazyLinear(8), nn.LazyBatchNorm1d(track_running_stats=False))
untracked.to(device)
try:
    dry_run(untracked, torch.zeros(1, 20, device=device))
except ValueError as error:
    untracked_message = str(error).split(",")[0]
    print(f"track_running_stats=False, one example in eval mode: {untracked_message}")
untracked_restored = untracked.training and untracked[1].training
dry_run(untracked, torch.zeros(2, 20, device=device))  # two examples are enough
untracked_materialized = type(untracked[1]) is nn.BatchNorm1d
untracked_norm = untracked[1].eval()
rows = torch.arange(16.0, device=device).reshape(2, 8)
with torch.no_grad():  # zero mean per feature: normalized with this batch's own statistics
    uses_batch_stats = untracked_norm.running_mean is None and torch.allclose(
        untracked_norm(rows).mean(0), torch.zeros(8, device=device), atol=1e-6
    )
print("  modes restored:", untracked_restored, "| two examples: batch statistics", uses_batch_stats)
# It needs more than one value per channel, and an image's pixels count: one image is enough.
images = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(track_running_stats=False))
one_image = torch.zeros(1, 3, 8, 8, device=device)
dry_run(images.to(device), one_image)
with torch.no_grad():
    one_image_output = images.eval()(one_image)  # now an ordinary forward pass in eval mode
images.train()
one_image_works = one_image_output.shape == (1, 4, 6, 6) and bool(one_image_output.isfinite().all())
print("track_running_stats=False, one 3x8x8 image in eval mode:", type(images[1]).__name__)

# The helper restores each module's own mode: a batch norm frozen on purpose stays frozen...
frozen = with_batch_norm()
frozen[1].eval()
dry_run(frozen, torch.zeros(1, 20, device=device))
print("after dry_run: model training", frozen.training, "| frozen batch norm", frozen[1].training)
# ...which model.train(True) would not do: it sets every submodule to the same mode.
naive = with_batch_norm()
naive[1].eval()
naive.train(True)
print("after model.train(True): frozen batch norm training", naive[1].training)


# A dry run reaches only the layers the forward pass calls. In eval() mode, a head that the model
# uses in training only (an auxiliary head, as in GoogLeNet) stays lazy, and the helper says so.
class WithAuxiliaryHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body, self.aux = nn.LazyLinear(8), nn.LazyLinear(2)

    def forward(self, x: torch.Tensor):
        h = self.body(x)
        return (h, self.aux(h)) if self.training else h


branching, leftover_message = WithAuxiliaryHead().to(device), ""
try:
    dry_run(branching, torch.zeros(1, 20, device=device))
except RuntimeError as error:
    leftover_message = str(error)
    print(f"dry run of a model with a training-only head: {leftover_message}")
body_materialized = type(branching.body) is nn.Linear
dry_run(branching.aux, torch.zeros(1, 8, device=device))  # the training-only branch on its own
print("  after a dry run of the head alone:", branching.aux)

assert layer_type == "Linear" and weight_type == "Parameter"
assert same_object  # witness: materialized-in-place
assert isinstance(first, nn.Linear) and first.in_features == 20
assert last.in_features == 256  # witness: chain-in-one-pass
assert first_weight_shape == (256, 20) and last_weight_shape == (10, 256)
assert parameter_count == 20 * 256 + 256 * 10 + 256 + 10 == 7946
if device.type == "cuda":
    assert (  # witness: move-first
        placeholder_moved and device_compatible and first.weight.device.type == "cuda"
    )
assert first.weight.requires_grad
assert "cannot be multiplied" in wrong_width_message  # witness: width-fixed
assert direct_forward_message.startswith("Attempted to use an uninit")  # witness: own-forward
assert lonely.has_uninitialized_params()  # witness: own-forward-leaves-placeholder
assert type(fresh[0]) is nn.Linear and fresh[0].in_features == 20  # witness: seq-forward
assert moved_tracked == 1  # witness: train-moves-stats
assert torch.allclose(moved_var, torch.full_like(moved_var, 0.9))  # witness: train-moves-var
assert one_row_message.startswith("Expected more than 1 value")  # witness: one-row-fails
assert (  # witness: one-row-after-materializing
    one_row_types == ["Linear", "BatchNorm1d", "ReLU"]
    and one_row_tracked == 1
    and torch.equal(one_row_mean, torch.zeros_like(one_row_mean))
    and torch.equal(one_row_var, torch.ones_like(one_row_var))
)
assert (  # witness: one-row-halves-cumulative
    math.isclose(cumulative_share, 0.5, rel_tol=1e-4)
    and math.isclose(unrefused_share, 1.0, rel_tol=1e-4)
)
assert (  # witness: untracked-one-row
    untracked_message.startswith("Expected more than 1 value") and untracked_materialized
)
assert one_image_works  # witness: untracked-one-image
assert untracked_restored  # witness: modes-restored-on-error
assert uses_batch_stats  # witness: untracked-uses-batch
assert kept_tracked == 0 and torch.equal(kept_var, torch.ones_like(kept_var))  # witness: eval-keeps
assert model.training and evaluated.training  # witness: mode-restored
assert frozen.training and frozen[0].training and not frozen[1].training  # witness: frozen-kept
assert naive[1].training  # witness: train-sets-all
assert cast_compatible and not meta_compatible  # witness: compatible-kinds
assert (  # witness: cast-first
    cast_type == "UninitializedParameter" and cast[0].weight.dtype == torch.float64
)
assert meta_weight_type == "Parameter" and meta_weight_shape == (0,)  # witness: meta-replaces
assert future_casts == ["Parameter", "Parameter"]  # witness: future-cast-replaces
assert (  # witness: future-noop-raises
    future_noop_errors[0].startswith("ValueError: Attempted to use an uninit")
    and future_noop_errors[1].startswith("RuntimeError: _apply(): Couldn't swap")
)
assert meta_message.startswith("The in_features inferred from input")  # witness: meta-fails
assert to_empty_message.startswith("Attempted to use an uninit")  # witness: to-empty-refuses
assert to_empty_refused == "empty_like"  # witness: to-empty-empty-like
assert allowed_casts == [  # witness: allowed-casts
    "half",
    "float",
    "double",
    "char",
    "short",
    "int",
    "long",
]
assert (  # witness: bfloat16-refused
    refused_shortcuts == ["bfloat16", "xpu", "mtia", "ipu"]
    and to_bfloat16_type == "UninitializedParameter"
    and to_bfloat16[0].weight.dtype == torch.bfloat16
)
assert (  # witness: eval-skips-branch
    body_materialized and leftover_message.endswith("['aux.weight', 'aux.bias']")
)
assert type(branching.aux) is nn.Linear and branching.aux.in_features == 8  # witness: branch-alone

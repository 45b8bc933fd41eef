"""One forward pass (the "dry run") gives every lazy layer its shape and turns it into nn.Linear."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def dry_run(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Materialize every lazy layer with one forward pass that updates no state."""
    modes = {module: module.training for module in model.modules()}  # each module's own flag
    model.eval()  # batch norm then uses its running statistics instead of updating them
    with torch.no_grad():  # only the shapes are needed, not a graph for backward
        model(example)
    for module, training in modes.items():
        module.training = training  # not module.train(): that would also set all its children
    return model


model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
model.to(device)  # move first: on a GPU, the parameters are then created there
lazy_layer, placeholder = model[0], model[0].weight
placeholder_moved = placeholder.device.type == device.type

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

# Casting placeholders to another dtype also works (with the default conversion, see the page)...
cast = nn.Sequential(nn.LazyLinear(4)).to(torch.float64)
cast(torch.zeros(2, 20, dtype=torch.float64))
print("cast to float64 before the dry run:", cast[0].weight.dtype)
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
# The opt-in conversions that replace or swap parameters turn even a dtype cast into that.
future_casts = []
for flag in ("overwrite_module_params_on_conversion", "swap_module_params_on_conversion"):
    previous = getattr(torch.__future__, f"get_{flag}")()
    getattr(torch.__future__, f"set_{flag}")(True)
    try:
        future_cast = nn.Sequential(nn.LazyLinear(4)).to(torch.float64)
    finally:
        getattr(torch.__future__, f"set_{flag}")(previous)
    future_casts.append(type(future_cast[0].weight).__name__)
print("cast with the opt-in conversions:", future_casts)
# to_empty needs shapes, so it refuses placeholders.
try:
    nn.Sequential(nn.LazyLinear(4)).to_empty(device=device)
except ValueError as error:
    to_empty_message = str(error)
    print(f"to_empty before the dry run: {to_empty_message[:45]}...")

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
try:
    with_batch_norm()(torch.zeros(1, 20, device=device))
except ValueError as error:
    one_row_message = str(error)
    print(f"one example in training mode: {type(error).__name__}: {one_row_message[:48]}...")

evaluated = dry_run(with_batch_norm(), torch.zeros(1, 20, device=device))[1]
kept_var = evaluated.running_var
kept_tracked = evaluated.num_batches_tracked.item()
print(f"dry run in eval mode: running_var {kept_var[0].item():.2f}, batches {kept_tracked}")

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

assert layer_type == "Linear" and weight_type == "Parameter"
assert same_object  # witness: materialized-in-place
assert isinstance(first, nn.Linear) and first.in_features == 20
assert last.in_features == 256  # witness: chain-in-one-pass
assert first_weight_shape == (256, 20) and last_weight_shape == (10, 256)
assert parameter_count == 20 * 256 + 256 * 10 + 256 + 10 == 7946
assert placeholder_moved and first.weight.device.type == device.type  # witness: move-first
assert first.weight.requires_grad
assert "cannot be multiplied" in wrong_width_message  # witness: width-fixed
assert direct_forward_message.startswith("Attempted to use an uninit")  # witness: own-forward
assert lonely.has_uninitialized_params()  # witness: own-forward-leaves-placeholder
assert type(fresh[0]) is nn.Linear and fresh[0].in_features == 20  # witness: seq-forward
assert moved_tracked == 1  # witness: train-moves-stats
assert torch.allclose(moved_var, torch.full_like(moved_var, 0.9))  # witness: train-moves-var
assert one_row_message.startswith("Expected more than 1 value")  # witness: one-row-fails
assert kept_tracked == 0 and torch.equal(kept_var, torch.ones_like(kept_var))  # witness: eval-keeps
assert model.training and evaluated.training  # witness: mode-restored
assert frozen.training and frozen[0].training and not frozen[1].training  # witness: frozen-kept
assert naive[1].training  # witness: train-sets-all
assert cast[0].weight.dtype == torch.float64  # witness: cast-first
assert meta_weight_type == "Parameter" and meta_weight_shape == (0,)  # witness: meta-replaces
assert future_casts == ["Parameter", "Parameter"]  # witness: future-cast-replaces
assert meta_message.startswith("The in_features inferred from input")  # witness: meta-fails
assert to_empty_message.startswith("Attempted to use an uninit")  # witness: to-empty-refuses

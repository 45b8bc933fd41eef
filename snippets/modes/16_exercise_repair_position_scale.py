"""PositionScale repaired: the table is made with the module, so validation cannot make it."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
train_x, train_y = torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)
val_batches = [(torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)) for _ in range(2)]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """As in 07_validation_loop.py: evaluation mode inside, every submodule's own mode after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def validate(model: nn.Module, batches) -> float:
    with evaluating(model), torch.inference_mode():
        losses = [F.mse_loss(model(x), y).item() for x, y in batches]
    return sum(losses) / len(losses)


class PositionScale(nn.Module):
    """Scales each feature by a factor for its position. The table is made here, in __init__,
    outside any inference_mode block, as a buffer, so that .to(device) moves it too."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("cache", torch.linspace(1, 2, features), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.cache


scale = PositionScale(8)
model = nn.Sequential(nn.Linear(4, 8), scale, nn.Linear(8, 1)).to(device)
validate(model, val_batches)  # the first call, as before
cache_is_inference = scale.cache.is_inference()
F.mse_loss(model(train_x), train_y).backward()  # a training step saves the cache: no error now
first_layer_trains = model[0].weight.grad is not None
try:
    scale.cache.mul_(2)  # an in-place update outside the block
    inplace_error = "no error"
except RuntimeError as error:
    inplace_error = str(error).split(".")[0]
# A buffer follows .to(): moving the module to the meta device moves the table too.
moved_with_module = PositionScale(3).to("meta").cache.device.type == "meta"
print("cache is an inference tensor after validate():", cache_is_inference)
print("training step gives the first layer a gradient:", first_layer_trains)
print("in-place update of the cache:", inplace_error)
print("the cache follows .to('meta'):", moved_with_module)

# persistent=False: the table is computed from the number of features, so no checkpoint holds it.
not_saved = "cache" not in scale.state_dict()


def small_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), PositionScale(8))


# What the fix depends on: a model built inside inference_mode, or moved there to another dtype or
# device, gets a new table, an inference tensor; its Linear's weight is an inference tensor too.
to_float64, to_meta = small_model(), small_model()
weight_before, table_before = to_float64[0].weight, to_float64[1].cache
meta_weight_before = to_meta[0].weight
with torch.inference_mode():
    built_inside = small_model()
    to_float64.to(torch.float64)  # new tensors, allocated inside the block
    to_meta.to("meta")
models = (built_inside, to_float64, to_meta)
inside = [m[1].cache.is_inference() and m[0].weight.is_inference() for m in models]
print("built, moved to float64, to meta inside inference_mode:", end=" ")
print("table and weight are inference tensors:", inside)
# Not alike, though: a dtype move keeps the Linear's Parameter and replaces only its data, as for a
# lazy layer, so the Parameter keeps its version counter; the table is a new inference tensor.
keeps_parameter = to_float64[0].weight is weight_before and to_float64[1].cache is not table_before
dtype_move_updates = []
for tensor in (to_float64[0].weight, to_float64[1].cache):
    try:
        with torch.no_grad():
            tensor.mul_(1)
        dtype_move_updates.append("no error")
    except RuntimeError as error:
        dtype_move_updates.append(str(error).split(".")[0])
print("moved to float64 inside, in-place update of the weight, of the table:", dtype_move_updates)
# A training step on that Linear alone: as for a lazy first layer, the weight gets no gradient.
to_float64[0](train_x.cpu().double()).sum().backward()
dtype_move_like_lazy = to_float64[0].weight.grad is None and to_float64[0].bias.grad is not None
print("  a training step trains its bias only:", dtype_move_like_lazy)
# Built inside, or moved to the meta device there, a Linear gets new Parameters, made inside the
# block: the default optimizer step on them raises as the table's update does, after changing the
# bias. A fused optimizer (fused=True) raises no error, but the weight, with no gradient as for a
# lazy layer, stays as it was.
meta_new_parameter = to_meta[0].weight is not meta_weight_before
with torch.inference_mode():
    linear_for_fused = nn.Linear(4, 8)
steps, biases_changed, weights_changed = [], [], []
for linear_inside, fused in ((built_inside[0], False), (linear_for_fused, True)):
    linear_inside(train_x.cpu()).sum().backward()  # as for a lazy layer: only the bias has a grad
    bias_before = linear_inside.bias.detach().clone()
    weight_values = linear_inside.weight.detach().clone()
    try:
        torch.optim.SGD(linear_inside.parameters(), lr=0.1, fused=fused).step()
        steps.append("no error")
    except RuntimeError as error:
        steps.append(str(error).split(".")[0])
    biases_changed.append(not torch.equal(linear_inside.bias, bias_before))
    weights_changed.append(not torch.equal(linear_inside.weight, weight_values))
built_inside_step = steps[0]
print("Linear built inside inference_mode, optimizer step, default / fused:", steps)
print("  the bias changed all the same:", biases_changed, "| the weight changed:", weights_changed)
# Between the CPU and a GPU, a move keeps the Parameter and replaces its data, as a dtype move does;
# the new data and the new table are inference tensors.
if device.type == "cuda":
    to_gpu = small_model()
    gpu_weight_before = to_gpu[0].weight
    with torch.inference_mode():
        to_gpu.to(device)
    gpu_keeps = to_gpu[0].weight is gpu_weight_before and to_gpu[0].weight.device.type == "cuda"
    gpu_keeps &= to_gpu[0].weight.is_inference() and to_gpu[1].cache.is_inference()


# The original module from 08_cache_made_in_validation.py, unchanged, with its first call under
# no_grad instead of inference_mode: the table is an ordinary tensor.
class LazyPositionScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cache = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cache is None:
            self.cache = torch.linspace(1, 2, x.shape[-1], device=x.device)
        return x * self.cache


lazy_scale = LazyPositionScale()
model = nn.Sequential(nn.Linear(4, 8), lazy_scale, nn.Linear(8, 1)).to(device)
with evaluating(model), torch.no_grad():
    model(val_batches[0][0])  # the first call
lazy_ordinary = not lazy_scale.cache.is_inference()
F.mse_loss(model(train_x), train_y).backward()
lazy_scale.cache.mul_(2)  # raises for an inference tensor
no_grad_first_call_works = lazy_ordinary and model[0].weight.grad is not None
print("original module, first call under no_grad: trains and updates in place:", end="")
print(f" {no_grad_first_call_works}")

repaired = not cache_is_inference and first_layer_trains
assert repaired and inplace_error == "no error"  # witness: repaired-trains
assert moved_with_module  # witness: buffer-moves
assert not_saved  # witness: not-in-state-dict
assert all(inside)  # witness: made-inside-is-inference
table_refuses = dtype_move_updates[1].startswith("Inplace update to inference tensor")
weight_updates = keeps_parameter and dtype_move_updates[0] == "no error"
assert weight_updates and table_refuses  # witness: dtype-move-keeps-parameter
step_refuses = built_inside_step.startswith("Inplace update to inference tensor")
step_refuses = step_refuses and biases_changed[0]  # refused only after changing the bias
weight_untrained = built_inside[0].weight.grad is None and not weights_changed[0]
assert step_refuses and weight_untrained and meta_new_parameter  # witness: built-inside-step-raises
fused_updates = steps[1] == "no error" and biases_changed[1]
fused_updates = fused_updates and linear_for_fused.bias.is_inference()
weight_left_out = linear_for_fused.weight.grad is None and not weights_changed[1]
assert fused_updates and weight_left_out  # witness: fused-step-works
assert dtype_move_like_lazy  # witness: dtype-move-weight-untrained
assert no_grad_first_call_works  # witness: no-grad-first-call-works
if device.type == "cuda":
    assert gpu_keeps  # witness: cuda-move-keeps-parameter

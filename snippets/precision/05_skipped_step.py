"""GradScaler skips a step whose gradients overflowed, and lowers the scale."""

import inspect
import warnings

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
scaler = torch.amp.GradScaler("cpu")  # the device type; the default is "cuda"
x = torch.rand(1, 4)  # one sample, values below 1
stepped = []  # the steps in which optimizer.step() was called
optimizer.register_step_pre_hook(lambda opt, args, kwargs: stepped.append(step))

history = []
for step in range(3):
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=torch.float16):
        out = model(x)  # float16
    loss = out.float().sum()  # d loss / d out = 1, so d (loss * scale) / d out = scale
    before = model.weight.detach().clone()
    scale = scaler.get_scale()
    scaler.scale(loss).backward()
    finite = bool(model.weight.grad.isfinite().all())  # still scaled: step() unscales
    scaler.step(optimizer)  # unscales; calls optimizer.step() only if nothing is inf or nan
    scaler.update()  # halves the scale after a skipped step
    changed = not torch.equal(before, model.weight)
    history.append((scale, finite, changed, scaler.get_scale()))
    print(f"step {step}: scale {scale:g}, finite gradients {finite}, weights changed {changed}")

print("optimizer.step() ran in steps", stepped)
first_scale, first_finite, first_changed, scale_after_first = history[0]
second_scale, second_finite, second_changed, scale_after_second = history[1]


def first_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, reduce):
    """One scaled step from a fresh scaler: (finite gradients, step() called, weights changed)."""
    first_scaler = torch.amp.GradScaler("cpu")
    called = []
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: called.append(True))
    with torch.autocast("cpu", dtype=torch.float16):
        out = model(x)
    before = model.weight.detach().clone()
    first_scaler.scale(reduce(out.float())).backward()
    grads_finite = all(bool(p.grad.isfinite().all()) for p in model.parameters())
    first_scaler.step(optimizer)
    return grads_finite, bool(called), not torch.equal(before, model.weight)


# A fused optimizer is called even for that step, and skips the update inside its kernel.
torch.manual_seed(0)
fused_model = nn.Linear(4, 1)
fused_optimizer = torch.optim.SGD(fused_model.parameters(), lr=0.01, fused=True)
fused = first_step(fused_model, fused_optimizer, x, torch.sum)
print("fused SGD, first step: finite, step() called, weights changed:", fused)
# What a fused step receives on a clean step (scale 8): the scale and the overflow flag as
# attributes, and gradients still scaled, which the kernel divides by the scale in place.
torch.manual_seed(0)
clean_model = nn.Linear(4, 1)
clean_optimizer = torch.optim.SGD(clean_model.parameters(), lr=0.01, fused=True)
received = []  # (grad_scale, found_inf, .grad) as step() starts
clean_optimizer.register_step_pre_hook(
    lambda opt, args, kwargs: received.append(
        (opt.grad_scale.item(), opt.found_inf.item(), clean_model.weight.grad.clone())
    )
)
clean_scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
with torch.autocast("cpu", dtype=torch.float16):
    clean_out = clean_model(x)
clean_scaler.scale(clean_out.float().sum()).backward()
scaled_grad, clean_before = clean_model.weight.grad.clone(), clean_model.weight.detach().clone()
clean_scaler.step(clean_optimizer)
grad_scale, found_inf, grad_at_step = received[0]
unscaled_grad = clean_model.weight.grad
kernel_unscales = torch.equal(grad_at_step, scaled_grad) and torch.allclose(
    unscaled_grad, scaled_grad / 8
)
update_unscaled = torch.allclose(clean_before - clean_model.weight.detach(), 0.01 * unscaled_grad)
print(f"fused SGD, clean step: grad_scale {grad_scale:g}, found_inf {found_inf:g}, ", end="")
print("gradients divided by the scale inside step():", kernel_unscales)

# Whether the first step overflows depends on the gradients: with the mean over many outputs
# as the loss, d loss / d out is 1 / (outputs * samples), and the scaled gradients fit.
wide_outputs, wide_samples = 10, 8
torch.manual_seed(0)
wide_model = nn.Linear(4, wide_outputs)
wide_optimizer = torch.optim.SGD(wide_model.parameters(), lr=0.01)
wide = first_step(wide_model, wide_optimizer, torch.rand(wide_samples, 4), torch.mean)
print(f"{wide_outputs} outputs, mean loss, first step: finite, called, changed:", wide)

# GradScaler is for float32 parameters with low-precision activations, not for a .half() model.
half_model = nn.Linear(4, 1).half()
half_optimizer = torch.optim.SGD(half_model.parameters(), lr=0.01)
half_scaler = torch.amp.GradScaler("cpu")
half_scaler.scale(half_model(x.half()).float().sum()).backward()
try:
    half_scaler.step(half_optimizer)
    half_error = "no error"
except ValueError as error:
    half_error = str(error)
print("GradScaler with float16 parameters:", half_error)


# step() skips the check for a fused optimizer (the fused step here overflows, and is skipped),
# unscale_() does not; bfloat16 gradients pass both.
def scaled_step(dtype: torch.dtype, fused: bool, unscale_first: bool = False) -> str:
    """One scaled step of a model cast to dtype: the error, or "no error"."""
    cast_model = nn.Linear(4, 1).to(dtype)
    cast_optimizer = torch.optim.SGD(cast_model.parameters(), lr=0.01, fused=fused)
    cast_scaler = torch.amp.GradScaler("cpu")
    cast_scaler.scale(cast_model(x.to(dtype)).float().sum()).backward()
    try:
        if unscale_first:
            cast_scaler.unscale_(cast_optimizer)  # as before clipping gradients
        cast_scaler.step(cast_optimizer)
    except ValueError as error:
        return str(error)
    return "no error"


half_fused_error = scaled_step(torch.float16, fused=True)
half_fused_unscale_error = scaled_step(torch.float16, fused=True, unscale_first=True)
bf16_errors = {
    scaled_step(torch.bfloat16, fused, first) for fused in (False, True) for first in (False, True)
}
print("float16 parameters, fused SGD: step():", half_fused_error)
print("    unscale_() then step():", half_fused_unscale_error)
print("bfloat16 parameters, plain or fused SGD, with or without unscale_():", *bf16_errors)

# Without a device type GradScaler means "cuda"; where CUDA is missing it switches itself off.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    default_scaler = torch.amp.GradScaler()
default_enabled = default_scaler.is_enabled()
default_growth_interval = scaler.get_growth_interval()  # clean steps before the scale grows
where = "cuda" if torch.cuda.is_available() else "cpu"
unchanged_loss = default_scaler.scale(torch.tensor(2.0, device=where)).item()
print("GradScaler() enabled:", default_enabled, "| scale(2.0) returns", unchanged_loss)
default_device = inspect.signature(torch.amp.GradScaler).parameters["device"].default
print("GradScaler()'s default device:", default_device)
default_warnings = [str(warning.message) for warning in caught]
for warning in default_warnings:
    print("warning:", warning)

# The older names still work: subclasses for device "cuda" that warn that they are deprecated.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_scaler = torch.cuda.amp.GradScaler()
    old_autocast = torch.cuda.amp.autocast()
deprecated = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
for warning in deprecated:
    print("warning:", warning)
old_still_work = (
    type(old_scaler).__bases__ == (torch.amp.GradScaler,)
    and type(old_autocast).__bases__ == (torch.autocast,)
    and old_scaler._device == old_autocast.device == "cuda"  # _device: the scaler's device
)

# float16 rounds a number to inf from its largest value plus half a step up: 65504 + 16.
float16_max = torch.finfo(torch.float16).max
largest = torch.tensor(float16_max, dtype=torch.float16)
top_step = (largest - torch.nextafter(largest, torch.zeros_like(largest))).item()  # 32
overflow_threshold = float16_max + top_step / 2
below_threshold = torch.nextafter(torch.tensor(overflow_threshold), torch.tensor(0.0))  # float32
print(f"in float16: {below_threshold.item()} -> {below_threshold.half().item()}, ", end="")
print(f"{overflow_threshold:g} -> {torch.tensor(overflow_threshold).half().item()}")

assert (
    torch.tensor(first_scale).half().isinf()
    and torch.tensor(overflow_threshold).half().isinf()
    and below_threshold.half().isfinite()
    and overflow_threshold <= first_scale
)  # witness: scale-overflows
assert not first_finite and stepped == [1, 2]  # witness: step-skipped
assert not first_changed
assert scale_after_first == first_scale / 2  # witness: scale-halved
assert second_finite and second_changed  # witness: next-step-runs
assert scale_after_second == second_scale  # witness: no-growth-yet
assert default_growth_interval == 2000
assert fused == (False, True, False)  # witness: fused-skips-inside
fused_attributes = (grad_scale, found_inf) == (8.0, 0.0)
assert fused_attributes and kernel_unscales and update_unscaled  # witness: fused-unscales
assert wide == (True, True, True)  # witness: mean-loss-fits
assert half_error.startswith("Attempting to unscale FP16 gradients")  # witness: half-refused
bf16_passes = bf16_errors == {"no error"}
assert half_fused_error == "no error" and bf16_passes  # witness: fused-and-bf16-pass
refused = "Attempting to unscale FP16 gradients"
assert half_fused_unscale_error.startswith(refused)  # witness: unscale-refuses-fused-half
assert default_device == "cuda"  # witness: default-device-cuda
if torch.cuda.is_available():
    assert default_enabled and unchanged_loss == 2.0**17
else:
    off_warning = "torch.cuda.amp.GradScaler is enabled, but CUDA is not available"  # either name
    assert (
        not default_enabled
        and unchanged_loss == 2.0
        and any(warning.startswith(off_warning) for warning in default_warnings)
    )  # witness: default-is-cuda
all_deprecated = len(deprecated) == 2 and all("is deprecated" in w for w in deprecated)
assert old_still_work and all_deprecated  # witness: old-names-deprecated

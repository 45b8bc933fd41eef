"""module.to(dtype) casts floating parameters, their gradients and floating buffers only."""
# guide: timeout=30

import copy
import subprocess
import sys
import warnings
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
model(torch.randn(8, 4)).sum().backward()  # one backward pass: every parameter has a .grad
weight, weight_grad = model[0].weight, model[0].weight.grad
running_mean = model[1].running_mean  # references to buffers, taken before the cast
counter = model[1].num_batches_tracked  # int64: nothing to convert

model.to(torch.bfloat16)  # the same as model.bfloat16(); model.half() casts to float16
dtypes = {name: str(t.dtype).removeprefix("torch.") for name, t in model.state_dict().items()}
for name, dtype in dtypes.items():
    print(f"{name:22} {dtype}")

grad_dtype = model[0].weight.grad.dtype
print(f"{'0.weight.grad':22} {str(grad_dtype).removeprefix('torch.')}")
same_parameter = model[0].weight is weight
same_grad = model[0].weight.grad is weight_grad
same_buffer = model[1].running_mean is running_mean
same_counter = model[1].num_batches_tracked is counter
print("same Parameter object:", same_parameter, "| same .grad object:", same_grad)
print("same running_mean object:", same_buffer, "| the old reference is", running_mean.dtype)
print("same num_batches_tracked object:", same_counter)

# .half() follows the same rule with float16.
half_dtypes = {t.dtype for t in copy.deepcopy(model).half().state_dict().values()}
print(".half() leaves:", sorted(str(d) for d in half_dtypes))

# A bfloat16 model needs bfloat16 inputs: the layer does not cast a float32 batch.
try:
    model(torch.randn(2, 4))
    input_error = "no error"
except RuntimeError as error:
    input_error = str(error)
print("float32 input:", input_error)
output_dtype = model(torch.randn(2, 4).bfloat16()).dtype
print("bfloat16 input gives", output_dtype)

# Training a cast model updates 16-bit weights: an update below half a step is lost.
weight_one = nn.Parameter(torch.ones(1, dtype=torch.bfloat16))
weight_one.grad = torch.full((1,), 0.01, dtype=torch.bfloat16)
torch.optim.SGD([weight_one], lr=0.1).step()  # 1 - 0.1 * 0.01 = 0.999, rounded to bfloat16
print("bfloat16 weight 1.0 after an SGD step of 0.001:", weight_one.item())

# Near 1.0 the gap to the next bfloat16 number is twice as large above as below, so an
# update rounds away or not depending on its direction.
one = torch.ones(1, dtype=torch.bfloat16)
gap_below = (one - torch.nextafter(one, one - 1)).item()
gap_above = (torch.nextafter(one, one + 1) - one).item()
nudge = 0.003  # more than half the gap below, less than half the gap above
down, up = (one - nudge).item(), (one + nudge).item()
print(f"gaps at 1.0: {gap_below} below, {gap_above} above")
print(f"1 - {nudge} -> {down}, 1 + {nudge} -> {up}")


# Optimizer state belongs to the optimizer, not to the module: .to(dtype) does not cast it.
def step_after_cast(make_optimizer, cast_state: bool = False) -> tuple[torch.dtype, str, bool]:
    """(state dtype before the step, the step's error, state the same float32 tensor after it)"""
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    optimizer = make_optimizer(layer.parameters())
    layer(torch.randn(2, 4)).sum().backward()
    optimizer.step()  # creates the state (exp_avg, momentum_buffer) in float32
    layer.bfloat16()
    layer(torch.randn(2, 4).bfloat16()).sum().backward()
    state = optimizer.state[layer.weight]
    key = "exp_avg" if "exp_avg" in state else "momentum_buffer"
    if cast_state:  # the control: cast the state of every parameter too, nothing else changes
        for parameter_state in optimizer.state.values():
            parameter_state[key] = parameter_state[key].bfloat16()
    before = state[key]
    try:
        optimizer.step()
        error = "no error"
    except RuntimeError as caught:
        error = str(caught)
    after = optimizer.state[layer.weight][key]  # read again: did the step replace it?
    return before.dtype, error, after is before and after.dtype == torch.float32


adam_state, adam_error, _ = step_after_cast(lambda p: torch.optim.Adam(p, lr=0.1))
print("Adam after the cast: exp_avg is", adam_state, "| step():", adam_error)
sgd = {}  # SGD with momentum: a plain loop (the CPU's default), foreach=True, fused=True
for kind in ("plain", "foreach", "fused"):
    options = {} if kind == "plain" else {kind: True}
    sgd[kind] = step_after_cast(partial(torch.optim.SGD, lr=0.1, momentum=0.9, **options))
    state_dtype, error, kept = sgd[kind]
    print(f"SGD ({kind}): momentum_buffer {state_dtype} | step(): {error} | same after: {kept}")
fused_sgd = partial(torch.optim.SGD, lr=0.1, momentum=0.9, fused=True)
control_dtype, control_error, _ = step_after_cast(fused_sgd, cast_state=True)
print(f"SGD (fused), momentum buffers cast to {control_dtype}: step(): {control_error}")


# .half() and .bfloat16() convert floating-point tensors only; .to(dtype) converts complex too.
def imag_warnings(cast: Callable[[], object]) -> list[str]:
    """The warnings that cast() gives about discarding imaginary parts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record every warning, even one seen before
        cast()
    return [str(w.message).split(" (")[0] for w in caught if "imaginary part" in str(w.message)]


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # complex parameters are experimental: a warning says so
    complex_layer = nn.Linear(2, 2).to(torch.complex64)
with torch.no_grad():
    complex_layer.weight.imag.fill_(0.5)  # imaginary parts for the cast to drop
real_part = complex_layer.weight.real.clone()
complex_half = copy.deepcopy(complex_layer).half().weight.dtype
complex_bf16 = copy.deepcopy(complex_layer).bfloat16().weight.dtype


# set_warn_always(True) makes PyTorch issue this warning at every cast: this process may have
# cast complex tensors already.
warned_always = torch.is_warn_always_enabled()
torch.set_warn_always(True)
try:
    to_warnings = imag_warnings(lambda: complex_layer.to(torch.float16))  # weight and bias
finally:
    torch.set_warn_always(warned_always)
# By default PyTorch issues it once per process. In a fresh Python (this process, or a notebook's
# kernel, may have used it up already): a layer's cast (two tensors), then two other casts.
FRESH_CASTS = """
import warnings, torch
from torch import nn
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # complex parameters are experimental: a warning says so
    layer = nn.Linear(2, 2).to(torch.complex64)
counts = []
for cast in (
    lambda: layer.to(torch.float16),  # weight and bias
    lambda: torch.ones(2, dtype=torch.complex128).to(torch.float32),
    lambda: torch.zeros(2).copy_(torch.ones(2, dtype=torch.complex64)),
):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record every warning Python is given
        cast()
    counts.append(sum("imaginary part" in str(w.message) for w in caught))
print(*counts)
"""
done = subprocess.run([sys.executable, "-P", "-c", FRESH_CASTS], capture_output=True, text=True)
if done.returncode:
    raise RuntimeError(done.stderr)
default_counts = [int(count) for count in done.stdout.split()]
complex_to = complex_layer.weight.dtype
real_part_kept = torch.equal(complex_layer.weight, real_part.half())  # the real part, rounded
print("complex64 layer: .half() ->", complex_half, "| .bfloat16() ->", complex_bf16)
print("complex64 layer: .to(torch.float16) ->", complex_to, "| the old real part:", real_part_kept)
print("    warning:", to_warnings[0])
print("in a fresh process, warnings from a layer's cast, then two other casts:", default_counts)

# Module.to accepts only floating-point (and complex) dtypes.
try:
    model.to(torch.int64)
    int_error = "no error"
except TypeError as error:
    int_error = str(error)
print("to(torch.int64):", int_error)

floating = [name for name, dtype in dtypes.items() if dtype == "bfloat16"]
assert len(floating) == 6 and dtypes["1.num_batches_tracked"] == "int64"  # witness: int-stays
assert same_parameter and weight.dtype == torch.bfloat16  # witness: parameter-cast-in-place
assert same_grad and weight_grad.dtype == torch.bfloat16  # witness: grad-cast
assert not same_buffer and running_mean.dtype == torch.float32  # witness: buffer-replaced
assert same_counter and counter.dtype == torch.int64  # witness: int-buffer-kept
assert half_dtypes == {torch.float16, torch.int64}  # witness: half-same-rule
assert "the same dtype" in input_error  # witness: input-not-cast
assert output_dtype == torch.bfloat16
assert weight_one.item() == 1.0  # witness: update-lost
assert gap_below / 2 < nudge < gap_above / 2 and down < 1.0 == up  # witness: update-direction
assert adam_state == torch.float32 and "expected dtype" in adam_error  # witness: adam-fails
assert all(
    sgd[kind] == (torch.float32, "no error", True) for kind in ("plain", "foreach")
)  # witness: momentum-stays-float32
fused_error = sgd["fused"][1]  # the only float32 tensors in the step are the momentum buffers
fused_refuses = "expected scalar type BFloat16 but found Float" in fused_error
buffer_is_cause = (control_dtype, control_error) == (torch.bfloat16, "no error")
assert fused_refuses and buffer_is_cause  # witness: fused-sgd-raises
assert complex_half == complex_bf16 == torch.complex64  # witness: complex-half
assert complex_to == torch.float16  # witness: complex-to
assert to_warnings and real_part_kept  # witness: complex-to-warns
warns_once = default_counts == [1, 0, 0] and len(to_warnings) == 2  # the latter: one per tensor
assert warns_once  # witness: complex-warns-once
assert int_error.startswith("nn.Module.to only accepts floating point")  # witness: int-refused

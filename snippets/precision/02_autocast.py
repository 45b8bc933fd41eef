"""torch.autocast picks a dtype per operation; the lists differ between the CPU and CUDA."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


def output_dtypes(device_type: str, dtype: torch.dtype, x: torch.Tensor) -> dict[str, str]:
    """Run a few operations under autocast on float32 tensors; report each output's dtype."""
    layer = nn.Linear(16, 16).to(x.device)
    norm = nn.LayerNorm(16).to(x.device)  # float32 weight and bias
    target = torch.arange(8, device=x.device)
    with torch.autocast(device_type, dtype=dtype):
        h = layer(x)  # float32 input and weights
        results = {
            "linear": h,
            "x @ x.T": x @ x.T,
            "softmax(h)": torch.softmax(h, dim=-1),
            "softmax(h, dtype)": torch.softmax(h, dim=-1, dtype=dtype),  # an explicit dtype=
            "log_softmax(h)": torch.log_softmax(h, dim=-1),
            "h.sum()": h.sum(),
            "layer_norm(h)": norm(h),
            "softmax(x)": torch.softmax(x, dim=-1),  # x is float32
            "log_softmax(x)": torch.log_softmax(x, dim=-1),
            "x.sum()": x.sum(),
            "layer_norm(x)": norm(x),
            "h + x": h + x,  # two dtypes, an operation on no list
            "cross_entropy(h)": F.cross_entropy(h, target),
        }
        dtypes = {name: str(out.dtype).removeprefix("torch.") for name, out in results.items()}
        # Two dtypes, operations that do not promote outside autocast.
        index = torch.tensor([0, 2], device=x.device)
        mixed = {
            "dot(h[0], x[0])": lambda: torch.dot(h[0], x[0]),
            "index_copy(x, h)": lambda: torch.index_copy(x, 0, index, h[:2]),
        }
        for name, operation in mixed.items():
            try:
                dtypes[name] = str(operation().dtype).removeprefix("torch.")
            except RuntimeError:
                dtypes[name] = "RuntimeError"
    return dtypes


class Trace(TorchDispatchMode):
    """Record the operations that reach the kernels, below autocast: (name, arguments)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten.detach.default:  # autograd keeping an output for backward
            return func(*args, **kwargs)  # (after softmax, when the input needs gradients)
        shown = [a.dtype if isinstance(a, torch.Tensor) else a for a in args]
        self.calls.append((str(func), *shown, *(f"{k}={v}" for k, v in kwargs.items())))
        return func(*args, **kwargs)


# Without dtype=, autocast uses a default per device type.
default_cpu, default_cuda = torch.get_autocast_dtype("cpu"), torch.get_autocast_dtype("cuda")
print("default autocast dtype: cpu", default_cpu, "| cuda", default_cuda)

torch.manual_seed(0)
x = torch.randn(8, 16)
with torch.autocast("cpu"):  # no dtype=
    default_cpu_matmul = (x @ x.T).dtype
print("x @ x.T under torch.autocast('cpu'):", default_cpu_matmul)
on_cpu = output_dtypes("cpu", torch.bfloat16, x)
print("autocast('cpu', dtype=torch.bfloat16):")
for name, dtype in on_cpu.items():
    print(f"    {name:17} -> {dtype}")

# Outside autocast: layer norm keeps a bfloat16 input's dtype with float32 weights (not the
# other way round), and torch.dot and index_copy refuse two dtypes.
h_low, weight, bias = torch.randn(8, 16).bfloat16(), torch.ones(16), torch.zeros(16)
layer_norm_outside = F.layer_norm(h_low, (16,), weight, bias).dtype
try:
    F.layer_norm(x, (16,), weight.bfloat16(), bias.bfloat16())
    layer_norm_error = "no error"
except RuntimeError as error:
    layer_norm_error = str(error)
try:
    torch.index_copy(x, 0, torch.tensor([0, 2]), h_low[:2])
    index_copy_error = "no error"
except RuntimeError as error:
    index_copy_error = str(error)
joined_dtypes = {torch.cat([x, h_low]).dtype, torch.stack([x, h_low]).dtype}  # these promote
with torch.autocast("cpu", dtype=torch.bfloat16):
    try:
        torch.dot(h_low[0], x[0])
        dot_error = "no error"
    except RuntimeError as error:
        dot_error = str(error)
print("layer_norm(bfloat16 input, float32 weight) outside autocast:", layer_norm_outside)
print("layer_norm(float32 input, bfloat16 weight) outside autocast:", layer_norm_error)
print("index_copy(float32, bfloat16 source) outside autocast:", index_copy_error)
print("cat and stack of float32 and bfloat16 outside autocast:", joined_dtypes)
print("torch.dot(bfloat16, float32) under CPU autocast:", dot_error)

# The promote list knows float32 and the autocast dtype only: float64 is left as it is, and the
# other 16-bit dtype is an error, even where both tensors have it, unless a float32 tensor comes
# first: autocast takes the arguments in order and stops at float32.
x_double, x_half = x.double(), x.half()
stack_outside = torch.stack([x_half, x_half]).dtype
stack_errors = {}
with torch.autocast("cpu", dtype=torch.bfloat16):
    for name, tensors in {"half, half": [x_half, x_half], "half, float32": [x_half, x]}.items():
        try:
            torch.stack(tensors)
            stack_errors[name] = "no error"
        except RuntimeError as error:
            stack_errors[name] = str(error)
    float32_first = torch.stack([x, x_half]).dtype
    try:
        torch.index_copy(x_double, 0, torch.tensor([0, 2]), h_low[:2])
        double_error = "no error"
    except RuntimeError as error:
        double_error = str(error)
print("stack of two float16 tensors: outside autocast", stack_outside, "| under CPU autocast:")
print("    " + stack_errors["half, half"])
print("stack([float16, float32]) under CPU autocast:", stack_errors["half, float32"])
print("stack([float32, float16]) under CPU autocast:", float32_first)
print("index_copy(float64, bfloat16 source) under CPU autocast:")
print("    " + double_error)

# TF32 (CUDA only) is set elsewhere: cuDNN convolutions and RNNs allow it by default.
conv_precision = torch.backends.cudnn.conv.fp32_precision
rnn_precision = torch.backends.cudnn.rnn.fp32_precision
print("cuDNN fp32_precision: conv", conv_precision, "| rnn", rnn_precision)

# Autocast casts the inputs of each operation; the parameters themselves stay float32.
model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = model(x)
loss = out.float().pow(2).mean()  # outside autocast, in float32
loss.backward()
model_weight = model[0].weight
print(
    "output:", out.dtype, "| weight:", model_weight.dtype, "| weight.grad:", model_weight.grad.dtype
)

assert (default_cpu, default_cuda) == (torch.bfloat16, torch.float16) and (
    default_cpu_matmul == torch.bfloat16
)  # witness: defaults
lowered = ["linear", "x @ x.T"]
follows_input = ["softmax(h)", "log_softmax(h)", "h.sum()", "layer_norm(h)"]
from_float32 = ["softmax(x)", "log_softmax(x)", "x.sum()", "layer_norm(x)"]
assert all(on_cpu[name] == "bfloat16" for name in lowered)  # witness: cpu-lowers-matmul
assert all(on_cpu[name] == "bfloat16" for name in follows_input)  # witness: cpu-follows-input
assert all(on_cpu[name] == "float32" for name in from_float32)  # witness: cpu-not-lowered
assert on_cpu["h + x"] == "float32"  # witness: cpu-promotes
assert (
    on_cpu["layer_norm(h)"] == "bfloat16" and layer_norm_outside == torch.bfloat16
)  # witness: layer-norm-keeps-input
assert on_cpu["dot(h[0], x[0])"] == "RuntimeError" and (
    "expected both vectors to have same dtype" in dot_error
)  # witness: cpu-dot-raises
assert layer_norm_error.startswith("mixed dtype (CPU)")  # witness: layer-norm-one-way
assert joined_dtypes == {torch.float32}  # witness: cat-promotes-anyway
assert on_cpu["index_copy(x, h)"] == "float32" and (
    "expected to have the same dtype" in index_copy_error
)  # witness: cpu-promotes-index-copy
assert stack_outside == torch.float16 and all(
    "Unexpected floating ScalarType" in error for error in stack_errors.values()
)  # witness: promote-refuses-float16
assert float32_first == torch.float32  # witness: promote-float32-first
assert "(self) Double and (source) BFloat16" in double_error  # witness: promote-skips-float64
assert on_cpu["cross_entropy(h)"] == "float32"  # witness: cpu-loss-float32
assert conv_precision == rnn_precision == "tf32"  # witness: cudnn-tf32-defaults
assert out.dtype == torch.bfloat16
assert (
    model_weight.dtype == model_weight.grad.dtype == torch.float32
)  # witness: parameters-stay-float32

if device.type == "cuda":
    with torch.autocast("cuda"):  # no dtype=
        default_cuda_matmul = (x.to(device) @ x.to(device).T).dtype
    print("x @ x.T under torch.autocast('cuda'):", default_cuda_matmul)
    assert default_cuda_matmul == torch.float16  # witness: cuda-default
    dtypes = [torch.float16] + [torch.bfloat16] * torch.cuda.is_bf16_supported()
    for dtype in dtypes:
        on_cuda = output_dtypes("cuda", dtype, x.to(device))
        print(f"autocast('cuda', dtype={dtype}):")
        for name, result in on_cuda.items():
            print(f"    {name:17} -> {result}")
        short = str(dtype).removeprefix("torch.")
        assert all(on_cuda[name] == short for name in lowered)  # witness: cuda-lowers-matmul
        # CUDA's list runs softmax, log_softmax, sum and layer_norm in float32.
        assert all(on_cuda[name] == "float32" for name in follows_input)  # witness: cuda-float32
        # softmax, log_softmax and sum get float32 as their dtype= argument, not as a cast of
        # their inputs, so a dtype= given by the caller wins.
        assert on_cuda["softmax(h, dtype)"] == short  # witness: cuda-explicit-dtype-wins
        # CUDA's "promote" list casts dot's inputs to the widest of their dtypes; it has no
        # index_copy, which therefore refuses two dtypes as it does outside autocast.
        assert on_cuda["dot(h[0], x[0])"] == "float32"  # witness: cuda-promotes-dot
        assert on_cuda["index_copy(x, h)"] == "RuntimeError"  # witness: cuda-index-copy-raises
        assert on_cuda["cross_entropy(h)"] == "float32"

    # What autocast hands the kernels, float16 on CUDA: sum and softmax get float32 as an
    # argument (softmax's half_to_float=True), layer norm a float32 copy of its input.
    layer, norm = nn.Linear(16, 16).to(device), nn.LayerNorm(16).to(device)
    traced = {}
    with torch.autocast("cuda", dtype=torch.float16):
        h = layer(x.to(device))
        for name, operation in {
            "h.sum()": lambda: h.sum(),
            "softmax(h)": lambda: torch.softmax(h, dim=-1),
            "softmax(h, dtype)": lambda: torch.softmax(h, dim=-1, dtype=torch.float16),
            "layer_norm(h)": lambda: norm(h),
        }.items():
            with Trace() as trace:
                operation()
            traced[name] = trace.calls
    for name, calls in traced.items():
        print(f"{name:17} reaches:", "; ".join(" ".join(map(str, call)) for call in calls))
    f16 = torch.float16
    assert (
        traced["h.sum()"] == [("aten.sum.default", f16, "dtype=torch.float32")]
        and traced["softmax(h)"] == [("aten._softmax.default", f16, -1, True)]
        and traced["softmax(h, dtype)"] == [("aten._softmax.default", f16, -1, False)]
        and traced["layer_norm(h)"][0] == ("aten._to_copy.default", f16, "dtype=torch.float32")
    )  # witness: cuda-opt-dtype-not-cast

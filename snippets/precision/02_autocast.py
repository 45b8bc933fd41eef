"""torch.autocast picks a dtype per operation; the lists differ between the CPU and CUDA."""

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


def output_dtypes(device_type: str, dtype: torch.dtype, x: torch.Tensor) -> dict[str, str]:
    """Run a few operations under autocast on float32 tensors; report each output's dtype."""
    layer = nn.Linear(16, 16).to(x.device)
    norm = nn.LayerNorm(16).to(x.device)
    target = torch.arange(8, device=x.device)
    with torch.autocast(device_type, dtype=dtype):
        h = layer(x)  # float32 input and weights
        results = {
            "linear": h,
            "x @ x.T": x @ x.T,
            "softmax(h)": torch.softmax(h, dim=-1),
            "log_softmax(h)": torch.log_softmax(h, dim=-1),
            "h.sum()": h.sum(),
            "layer_norm(h)": norm(h),
            "softmax(x)": torch.softmax(x, dim=-1),  # x is float32
            "layer_norm(x)": norm(x),
            "cross_entropy(h)": F.cross_entropy(h, target),
        }
    return {name: str(out.dtype).removeprefix("torch.") for name, out in results.items()}


# Without dtype=, autocast uses a default per device type.
default_cpu, default_cuda = torch.get_autocast_dtype("cpu"), torch.get_autocast_dtype("cuda")
print("default autocast dtype: cpu", default_cpu, "| cuda", default_cuda)

torch.manual_seed(0)
x = torch.randn(8, 16)
on_cpu = output_dtypes("cpu", torch.bfloat16, x)
print("autocast('cpu', dtype=torch.bfloat16):")
for name, dtype in on_cpu.items():
    print(f"    {name:17} -> {dtype}")

# Autocast casts the inputs of each operation; the parameters themselves stay float32.
model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = model(x)
loss = out.float().pow(2).mean()  # outside autocast, in float32
loss.backward()
weight = model[0].weight
print("output:", out.dtype, "| weight:", weight.dtype, "| weight.grad:", weight.grad.dtype)

assert (default_cpu, default_cuda) == (torch.bfloat16, torch.float16)  # witness: defaults
lowered = ["linear", "x @ x.T"]
follows_input = ["softmax(h)", "log_softmax(h)", "h.sum()", "layer_norm(h)"]
assert all(on_cpu[name] == "bfloat16" for name in lowered)  # witness: cpu-lowers-matmul
assert all(on_cpu[name] == "bfloat16" for name in follows_input)  # witness: cpu-follows-input
assert on_cpu["softmax(x)"] == on_cpu["layer_norm(x)"] == "float32"  # witness: cpu-not-lowered
assert on_cpu["cross_entropy(h)"] == "float32"  # witness: cpu-loss-float32
assert out.dtype == torch.bfloat16
assert weight.dtype == weight.grad.dtype == torch.float32  # witness: parameters-stay-float32

if device.type == "cuda":
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
        assert on_cuda["cross_entropy(h)"] == "float32"

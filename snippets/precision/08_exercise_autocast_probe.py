"""Exercise: find out what CPU autocast does with an operation, by running it."""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def autocast_policy(
    fn: Callable[[torch.Tensor], torch.Tensor], device_type: str = "cpu", dtype=torch.bfloat16
) -> str:
    """'lowered', 'float32' or 'follows input': what autocast made of fn's output dtype."""
    x = torch.randn(4, 4, generator=torch.Generator().manual_seed(0)).to(device_type)
    with torch.autocast(device_type, dtype=dtype):
        from_float32 = fn(x).dtype
        from_low = fn(x.to(dtype)).dtype
    if from_float32 == dtype:
        return "lowered"  # inputs cast down: on the lower-precision list, or built from an op on it
    if from_low == torch.float32:
        return "float32"  # on the float32 list: inputs are cast up
    # No cast to one dtype: on none of the lists, or on the promote list, which has nothing to
    # promote when every input has one dtype. The probe sees behaviour, not list membership.
    return "follows input"


operations = {
    "x @ x.T": lambda t: t @ t.T,
    "conv1d": lambda t: F.conv1d(t[None], t[:, :, None]),  # 4 channels, 4 filters
    "exp": torch.exp,
    "gelu": F.gelu,
    "cumsum": lambda t: t.cumsum(dim=-1),
    "layer_norm": lambda t: F.layer_norm(t, (4,)),
    "prod": torch.prod,
    "cdist": lambda t: torch.cdist(t, t),
    "mse_loss": lambda t: F.mse_loss(t, t.flip(0)),
    "cat": lambda t: torch.cat([t, t]),  # on the CPU's promote list
}
policies = {name: autocast_policy(fn) for name, fn in operations.items()}
for name, policy in policies.items():
    print(f"{name:11} {policy}")


# The dispatcher tells which operations have an autocast kernel of their own on a device type:
# one without (for this overload: aten::{op} names the default one) is on none of its lists,
# though the operations it calls may be. (A private function; every build of torch, a CPU-only
# one too, registers CUDA's autocast kernels.)
def autocast_kernels(op: str) -> list[str]:
    keys = {"cpu": "AutocastCPU", "cuda": "AutocastCUDA"}
    has = torch._C._dispatch_has_kernel_for_dispatch_key
    return [device_type for device_type, key in keys.items() if has(f"aten::{op}", key)]


operators = ("cat", "stack", "index_copy", "dot", "cross_entropy_loss", "einsum", "bmm")
kernels = {op: autocast_kernels(op) for op in operators}
print("autocast kernels for", kernels)


# einsum has no CPU autocast kernel, but it computes a matrix product with bmm, which has one.
# A TorchDispatchMode sees the operations after autocast: what reached bmm's kernel?
class RecordBmm(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket is torch.ops.aten.bmm:
            bmm_inputs.extend(a.dtype for a in args)
        return func(*args, **(kwargs or {}))


bmm_inputs = []
a = torch.randn(4, 4)
with torch.autocast("cpu", dtype=torch.bfloat16), RecordBmm():
    einsum_dtype = torch.einsum("ij,jk->ik", a, a).dtype
print("einsum('ij,jk->ik') of float32 under CPU autocast:", einsum_dtype, "| bmm got", bmm_inputs)

# The lower-precision list casts every floating input but float64: float16 becomes bfloat16 too.
h16, h64 = torch.ones(4, 4, dtype=torch.float16), torch.ones(4, 4, dtype=torch.float64)
with torch.autocast("cpu", dtype=torch.bfloat16):
    from_float16, from_float64 = (h16 @ h16.T).dtype, (h64 @ h64.T).dtype
    float32_list_on_float64 = torch.prod(h64).dtype  # prod is on the float32 list
print("under CPU autocast, x @ x.T of float16:", from_float16, "| of float64:", from_float64)
print("  torch.prod, on the float32 list, of float64:", float32_list_on_float64)

lowered = [name for name, policy in policies.items() if policy == "lowered"]
raised = [name for name, policy in policies.items() if policy == "float32"]
lowered_list = ", ".join(lowered)
raised_list = ", ".join(raised)

assert lowered == ["x @ x.T", "conv1d"]  # witness: probe-lowered
assert raised == ["prod", "cdist", "mse_loss"]  # witness: probe-float32
assert policies["exp"] == policies["layer_norm"] == "follows input"  # witness: probe-follows
cat_looks_unlisted = policies["cat"] == "follows input" and "cpu" in kernels["cat"]
assert cat_looks_unlisted  # witness: probe-sees-behaviour
cpu_ops = ("cat", "stack", "index_copy", "cross_entropy_loss")
on_cpu_only = all(kernels[op] == ["cpu"] for op in cpu_ops)
assert on_cpu_only and kernels["dot"] == ["cuda"]  # witness: autocast-kernels
einsum_through_bmm = "cpu" not in kernels["einsum"] and "cpu" in kernels["bmm"]
bmm_lowered = a.dtype == torch.float32 and bmm_inputs == [torch.bfloat16] * 2
assert einsum_through_bmm and bmm_lowered and einsum_dtype == torch.bfloat16  # witness: einsum-bmm
lowers_float16_too = from_float16 == torch.bfloat16 and from_float64 == torch.float64
lowers_float16_too = lowers_float16_too and float32_list_on_float64 == torch.float64
assert lowers_float16_too  # witness: lowers-float16-not-float64

if device.type == "cuda":
    # dot on CUDA's promote list: two float16 vectors stay float16 (the float32 list would cast
    # them up); index_copy on none of its lists: it refuses two dtypes as outside autocast.
    x = torch.randn(8, 16).to(device)
    half = x.half()
    with torch.autocast("cuda", dtype=torch.float16):
        dot_of_half = torch.dot(half[0], half[1]).dtype
        dot_of_mixed = torch.dot(half[0], x[0]).dtype
        try:
            torch.index_copy(x, 0, torch.tensor([0, 2], device=device), half[:2])
            index_copy_error = "no error"
        except RuntimeError as error:
            index_copy_error = str(error)
    print(f"under CUDA autocast: dot(float16, float16) {dot_of_half}, mixed {dot_of_mixed}")
    print("    index_copy(float32, float16 source):", index_copy_error)
    promotes = dot_of_half == torch.float16 and dot_of_mixed == torch.float32
    assert promotes  # witness: cuda-dot-promotes
    assert "expected to have the same dtype" in index_copy_error  # witness: cuda-index-copy-refuses

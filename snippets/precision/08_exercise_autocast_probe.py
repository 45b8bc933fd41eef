"""Exercise: find out what CPU autocast does with an operation, by running it."""

from collections.abc import Callable

import torch
import torch.nn.functional as F


def autocast_policy(
    fn: Callable[[torch.Tensor], torch.Tensor], device_type: str = "cpu", dtype=torch.bfloat16
) -> str:
    """'lowered', 'float32' or 'follows input': what autocast made of fn's output dtype."""
    torch.manual_seed(0)
    x = torch.randn(4, 4, device=device_type)
    with torch.autocast(device_type, dtype=dtype):
        from_float32 = fn(x).dtype
        from_low = fn(x.to(dtype)).dtype
    if from_float32 == dtype:
        return "lowered"  # on the lower-precision list: inputs are cast down
    if from_low == torch.float32:
        return "float32"  # on the float32 list: inputs are cast up
    return "follows input"  # not on a list: the operation runs in its input's dtype


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
}
policies = {name: autocast_policy(fn) for name, fn in operations.items()}
for name, policy in policies.items():
    print(f"{name:11} {policy}")

lowered = [name for name, policy in policies.items() if policy == "lowered"]
raised = [name for name, policy in policies.items() if policy == "float32"]
lowered_list = ", ".join(lowered)
raised_list = ", ".join(raised)

assert lowered == ["x @ x.T", "conv1d"]  # witness: probe-lowered
assert raised == ["prod", "cdist", "mse_loss"]  # witness: probe-float32
assert policies["exp"] == policies["layer_norm"] == "follows input"  # witness: probe-follows

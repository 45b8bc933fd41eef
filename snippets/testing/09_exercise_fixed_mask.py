"""Exercise: a fixed mask stored as nn.Parameter gets trained. `trainable=` catches it;
a buffer fixes it.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class MaskedLinear(nn.Module):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (here: lower triangular)."""

    def __init__(self, features: int, mask_as_buffer: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(features, features)
        mask = torch.tril(torch.ones(features, features))
        if mask_as_buffer:
            # state, moved and saved with the module, never trained
            self.register_buffer("mask", mask)
        else:
            self.mask = nn.Parameter(mask)  # the mistake: the optimizer would change the mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.linear.weight * self.mask, self.linear.bias)


torch.manual_seed(0)
should_train = ["linear.bias", "linear.weight"]
try:
    check_module(
        MaskedLinear(4, mask_as_buffer=False).to(device), (3, 4), (3, 4), trainable=should_train
    )
    message = ""
except AssertionError as error:
    message = str(error)
print("mask as Parameter:", message)

fixed = MaskedLinear(4, mask_as_buffer=True).to(device)
report = check_module(fixed, (3, 4), (3, 4), trainable=should_train)
print("mask as buffer:   ", report.checks[2])
buffer_names = [name for name, _ in fixed.named_buffers()]
saved = "mask" in fixed.state_dict()
parameter_names = [name for name, _ in fixed.named_parameters()]
print("buffer saved in state_dict:", saved, " parameters:", parameter_names)
# A move that any machine can make: to the meta device, which keeps shapes and no data. The buffer
# moves with the module; a plain tensor attribute, kept for comparison, stays behind.
fixed.plain_mask = fixed.mask.clone()
fixed.to("meta")
moved = fixed.mask.is_meta and not fixed.plain_mask.is_meta
print("after .to('meta'): buffer on", fixed.mask.device, " plain tensor:", fixed.plain_mask.device)
try:  # meta tensors have no values: the forward pass runs, check 2 cannot count finite values
    check_module(fixed, (3, 4), (3, 4), trainable=should_train)
    fixed_on_meta = ""
except RuntimeError as error:
    fixed_on_meta = str(error)
print("the fix, checked on meta:", fixed_on_meta)


class PlainMaskedLinear(MaskedLinear):
    """The mask as a plain tensor attribute: not a parameter either, but .to() leaves it behind."""

    def __init__(self, features: int) -> None:
        super().__init__(features, mask_as_buffer=True)
        del self.mask  # unregisters the buffer
        self.mask = torch.tril(torch.ones(features, features))


# On the CPU it passes; on another device (meta here) its forward pass fails before any check.
plain_on_cpu = check_module(PlainMaskedLinear(4), (3, 4), (3, 4), trainable=should_train)
on_meta = PlainMaskedLinear(4).to("meta")
try:
    check_module(on_meta, (3, 4), (3, 4), trainable=should_train)
    plain_elsewhere = ""
except RuntimeError as error:  # from the forward pass, not a failed check
    plain_elsewhere = f"RuntimeError: {error}"
print("mask as plain tensor, on the CPU:", plain_on_cpu.checks[2])
print("  on the meta device:", plain_elsewhere)


class PlainMask(nn.Module):
    """Zeroes the last feature with a plain 0/1 mask; no parameter or buffer, so no device."""

    def __init__(self) -> None:
        super().__init__()
        self.mask = torch.tensor([1.0, 1.0, 1.0, 0.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


# .to("meta") moves nothing, and without device= the helper makes its input on the CPU.
alone = PlainMask().to("meta")
alone_checks = len(check_module(alone, (3, 4), (3, 4)).checks)
try:
    check_module(alone, (3, 4), (3, 4), device="meta")
    alone_on_meta = ""
except RuntimeError as error:
    alone_on_meta = f"RuntimeError: {error}"
print("mask alone, after .to('meta'):", alone_checks, "checks pass; with device='meta':")
print(" ", alone_on_meta)
# The exception: a 0-dim tensor left on the CPU is taken as a scalar in an element-wise product.
scaled = fixed.mask * torch.tensor(0.5)
print("meta mask times a 0-dim CPU tensor: on", scaled.device)
# Indexing with a CPU index tensor: meta lets every indexing function through, even index_select,
# which a GPU refuses; only a GPU shows that subscripting accepts it.
columns = torch.tensor([0, 2])  # on the CPU
picked = fixed.mask[:, columns]
selected = fixed.mask.index_select(1, columns)
print("meta mask, CPU index: subscript on", picked.device, " index_select on", selected.device)
if device.type == "cuda":
    on_gpu = torch.tril(torch.ones(4, 4, device=device))[:, columns]
    print("GPU tensor subscripted with a CPU index tensor: on", on_gpu.device)
    scaled_on_gpu = on_gpu * torch.tensor(0.5)  # the 0-dim tensor stays on the CPU
    print("GPU tensor times a 0-dim CPU tensor: on", scaled_on_gpu.device)
    try:
        torch.tril(torch.ones(4, 4, device=device)).index_select(1, columns)
        gpu_selected = "no error"
    except RuntimeError as error:
        gpu_selected = str(error)
    print("GPU tensor, index_select with a CPU index:", gpu_selected.split(",")[0])

assert message == "MaskedLinear: a gradient reached ['mask'], expected to stay fixed"
assert report.trained == should_train and buffer_names == ["mask"]
assert saved and moved and "mask" not in parameter_names  # witness: buffer-not-parameter
left_behind = plain_elsewhere.startswith("RuntimeError: Tensor on device cpu is not on the")
assert len(plain_on_cpu.checks) == 5 and left_behind  # witness: left-behind
assert scaled.is_meta  # witness: zero-dim-accepted
assert picked.is_meta and selected.is_meta  # witness: meta-indexing-unchecked
if device.type == "cuda":
    assert on_gpu.is_cuda  # witness: cpu-index-accepted
    assert scaled_on_gpu.is_cuda  # witness: zero-dim-accepted-gpu
    same_device = gpu_selected.startswith("Expected all tensors to be on the same device")
    assert same_device and "cpu" in gpu_selected  # witness: cpu-index-refused-gpu
no_values = fixed_on_meta.startswith("Tensor.item() cannot be called on meta")
assert no_values  # witness: meta-cannot-pass
alone_raises = alone_on_meta.startswith("RuntimeError: Tensor on device cpu is not on the")
assert alone_checks == 5 and alone_raises  # witness: no-device-of-its-own

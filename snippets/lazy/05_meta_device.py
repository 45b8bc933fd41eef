"""Build a large model on the meta device: shapes and counts without allocating any memory."""

import torch
from torch import nn


def build_tower(width: int, depth: int) -> nn.Sequential:
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)


cpu_tensor = torch.ones(3)
with torch.device("meta"):  # the usual factory functions default to "meta" inside
    tower = build_tower(width=4096, depth=24)
    default_on_meta = torch.zeros(3).is_meta and torch.tensor([1.0, 2.0]).is_meta
    # A few functions are not on the block's list: they still allocate on the CPU.
    old_style = nn.Parameter(torch.Tensor(4, 4))  # as in many older custom layers
    others = (torch.FloatTensor(3), torch.normal(0.0, 1.0, (3,)))
    legacy = [t.device.type for t in (old_style, *others)]
    explicit_device = torch.zeros(3, device="cpu").device  # an explicit device wins
    # ..._like and new_... functions follow the tensor they are given
    like_device = torch.zeros_like(cpu_tensor).device
    new_device = cpu_tensor.new_zeros(2).device

parameter_count = sum(p.numel() for p in tower.parameters())  # numel needs shapes only
float32_gigabytes = parameter_count * 4 / 1e9
on_meta = all(p.is_meta for p in tower.parameters())
unallocated = all(p.untyped_storage().data_ptr() == 0 for p in tower.parameters())  # no memory
print(
    f"{parameter_count:,} parameters, {float32_gigabytes:.2f} GB in float32 once allocated; "
    f"all on meta: {on_meta}, none allocated: {unallocated}"
)
print(
    "in the block, zeros(3) and tensor([1.0, 2.0]) on meta:",
    default_on_meta,
    "| zeros(3, device='cpu') on",
    explicit_device,
)
print(f"  zeros_like(cpu_tensor) on {like_device}, cpu_tensor.new_zeros(2) on {new_device}")
print("  Parameter(Tensor(4, 4)), FloatTensor(3) and normal(0.0, 1.0, (3,)) on", legacy)

# A forward pass on meta tensors computes output shapes (and checks them) without any arithmetic.
output_shape = tuple(tower(torch.empty(8, 4096, device="meta")).shape)
print("output shape:", output_shape)
try:
    tower(torch.empty(8, 100, device="meta"))  # the wrong width is caught without any arithmetic
    wrong_width_caught = False
except RuntimeError as error:
    wrong_width_caught = True
    print(f"wrong width on meta: {type(error).__name__}: {error}")

# There are no values to read or copy.
try:
    tower[0].weight.sum().item()
except RuntimeError as error:
    item_message = str(error)
    print(f"{type(error).__name__}: {item_message}")
try:
    tower.to("cpu")
except NotImplementedError as error:
    copy_message = str(error)
    print(f"{type(error).__name__}: {copy_message[:60]}...")

# One layer can also be placed on meta with the factory argument instead of the context manager.
head = nn.Linear(4096, 10, device="meta")
head_on_meta = head.weight.is_meta

assert parameter_count == 24 * (4096 * 4096 + 4096) == 402_751_488
assert on_meta and default_on_meta  # witness: built-on-meta
assert unallocated  # witness: nothing-allocated
assert explicit_device == torch.device("cpu")  # witness: explicit-device-wins
assert legacy == ["cpu", "cpu", "cpu"]  # witness: legacy-not-covered
assert like_device.type == "cpu" and new_device.type == "cpu"  # witness: like-follows-input
assert head_on_meta  # witness: one-layer-on-meta
assert output_shape == (8, 4096)
assert wrong_width_caught  # witness: meta-checks-shapes
assert abs(float32_gigabytes - 1.61) < 0.005
assert "meta" in item_message  # witness: no-item
assert copy_message.startswith("Cannot copy out of meta tensor")  # witness: no-copy
assert "Please use torch.nn.Module.to_empty()" in copy_message

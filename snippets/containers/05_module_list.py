"""nn.ModuleList: a list that registers its modules; forward decides how to use them."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class ResidualMLP(nn.Module):
    def __init__(self, d_in: int, width: int, depth: int, d_out: int) -> None:
        super().__init__()
        self.input = nn.Linear(d_in, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.output = nn.Linear(width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.input(x))
        for block in self.blocks:
            x = x + torch.relu(block(x))  # a skip connection: not a chain of calls
        return self.output(x)


# --8<-- [end:class]
torch.manual_seed(0)
model = ResidualMLP(8, 16, 3, 4).to(device)
X = torch.randn(2, 8).to(device)
output_shape = tuple(model(X).shape)
parameter_count = sum(p.numel() for p in model.parameters())
block_names = ", ".join(name for name, _ in model.blocks.named_parameters(prefix="blocks"))
print("output shape:", output_shape, " parameters:", parameter_count)
print("block parameters:", block_names)

# It behaves like a list: len, indexing, slicing, append, extend, insert (at 0 to len).
model.blocks.append(nn.Linear(16, 16).to(device))
depth_after_append = len(model.blocks)
parameters_after_append = sum(p.numel() for p in model.parameters())
slice_type = type(model.blocks[1:]).__name__
a, b, c = nn.ReLU(), nn.Tanh(), nn.GELU()
small = nn.ModuleList([a])
small.extend([b])
small.insert(0, c)
small_order = [type(m).__name__ for m in small]
small_names = [name for name, _ in small.named_children()]  # renumbered after insert
probe = nn.ModuleList([nn.ReLU(), nn.Tanh()])
probe.insert(len(probe), nn.GELU())  # at its length: appended
probe_after = None  # stays None if a negative index were ever accepted
try:  # a negative index, unlike a list's: it shifts every entry up, then raises
    probe.insert(-1, nn.Identity())
except KeyError:
    probe_after = [type(m).__name__ for m in probe]
list_methods = ("remove", "index", "count", "sort", "reverse", "clear", "copy")
missing_list_methods = [op for op in list_methods if not hasattr(small, op)]
print(
    f"after append: {depth_after_append} blocks, {parameters_after_append} parameters;",
    f"a slice is a {slice_type}",
)
print("extend and insert:", list(zip(small_names, small_order)))

# It has no forward of its own: there is no single way to chain what it holds.
try:
    model.blocks(X)
except NotImplementedError as error:
    error_name, message = type(error).__name__, str(error)
    print(f"{error_name}: {error}")

assert output_shape == (2, 4)
assert parameter_count == (8 * 16 + 16) + 3 * (16 * 16 + 16) + (16 * 4 + 4) == 1028
assert block_names.startswith("blocks.0.weight, blocks.0.bias, blocks.1.weight")
assert depth_after_append == 4
assert parameters_after_append == 1028 + 272  # witness: append-registers
assert slice_type == "ModuleList"
assert list(small) == [c, a, b] and small_names == ["0", "1", "2"]  # witness: list-ops
assert probe_after == ["ReLU", "ReLU", "Tanh", "GELU"]  # witness: insert-negative-corrupts
assert missing_list_methods == list(list_methods)  # witness: no-remove-sort
assert error_name == "NotImplementedError"
assert 'missing the required "forward" function' in message

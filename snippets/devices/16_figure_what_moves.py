# guide: figure=what_moves.svg
"""Where each tensor of a model lives before and after module.to("meta"), read from the tensors'
.device: parameters and buffers move, a plain tensor attribute stays on the CPU."""

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import to_rgba
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.norm = nn.BatchNorm1d(3)
        self.register_buffer("offset", torch.zeros(3), persistent=False)
        self.mask = torch.ones(3)  # a plain attribute: in no registry

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.linear(x)) * self.mask + self.offset


def tensors_of(model: nn.Module) -> dict[str, tuple[str, torch.Tensor]]:
    """Every tensor the model holds, by qualified name: its kind and the tensor itself."""
    found = {name: ("parameter", p) for name, p in model.named_parameters()}
    saved = set(model.state_dict())
    for name, b in model.named_buffers():
        found[name] = ("buffer" if name in saved else "buffer, not persistent", b)
    for prefix, module in model.named_modules():
        for name, value in vars(module).items():  # attributes outside the registries
            if isinstance(value, torch.Tensor):
                found[f"{prefix}.{name}" if prefix else name] = ("plain attribute", value)
    return found


model = Net()
before = {name: str(t.device) for name, (_, t) in tensors_of(model).items()}
kinds = {name: kind for name, (kind, _) in tensors_of(model).items()}
model.to("meta")  # the move: on a machine with a GPU, .to("cuda") moves the same tensors
after = {name: str(t.device) for name, (_, t) in tensors_of(model).items()}
names = list(before)  # parameters, buffers, then plain attributes
moved = [name for name in names if after[name] != before[name]]
stayed = [name for name in names if after[name] == before[name]]

fig, ax = plt.subplots(figsize=(6.4, 3.6))
columns = [
    ("tensor", 0.0, "left"),
    ("kind", 2.3, "left"),
    ("before", 4.6, "center"),
    ('after .to("meta")', 5.9, "center"),
]
for title, x, align in columns:
    ax.text(x, 0, title, ha=align, va="center", fontsize=9, fontweight="bold")
ax.plot([0, 6.6], [-0.5, -0.5], color="black", lw=0.8)
fills = {"cpu": to_rgba("C0", 0.4), "meta": to_rgba("C1", 0.4)}
for row, name in enumerate(names, start=1):
    y = -row * 0.72 - 0.2
    ax.text(0.0, y, name, ha="left", va="center", fontsize=9, family="monospace")
    ax.text(2.3, y, kinds[name], ha="left", va="center", fontsize=9)
    for x, device in ((4.6, before[name]), (5.9, after[name])):
        box = {"boxstyle": "round,pad=0.25", "fc": fills[device], "ec": "black", "lw": 0.6}
        ax.text(x, y, device, ha="center", va="center", fontsize=9, bbox=box)
fig.text(
    0.5,
    0.04,
    "module.to() moves every parameter and buffer of every submodule;\n"
    "mask, a plain attribute, is in neither registry, so it stays where it was",
    ha="center",
    fontsize=8,
)
ax.set_xlim(-0.1, 6.7)
ax.set_ylim(-len(names) * 0.72 - 0.6, 0.4)
ax.axis("off")
fig.tight_layout(rect=(0, 0.1, 1, 1))
fig.savefig("what_moves.svg", metadata={"Date": None})

print(f"{'tensor':26} {'kind':24} before -> after")
for name in names:
    print(f"{name:26} {kinds[name]:24} {before[name]:6} -> {after[name]}")
moved_count, tensor_count = len(moved), len(names)
print(f"moved: {moved_count} of {tensor_count} tensors; stayed:", ", ".join(stayed))
registered = {name for name, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}

assert set(before.values()) == {"cpu"} and (moved_count, tensor_count) == (8, 9)
assert set(moved) == registered and all(after[n] == "meta" for n in moved)  # witness: moved
assert stayed == ["mask"] and "mask" not in registered  # witness: plain-stays

# guide: figure=shared_tensors.svg
"""Which parameter tensor each name of a model points at: the tied stack and an untied copy."""

import copy

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import to_rgba
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text

torch.manual_seed(0)  # random initial values, the same in every run on one machine
shared = nn.Linear(8, 8)
tied = nn.Sequential(
    nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
)
untied = nn.Sequential(*[copy.deepcopy(layer) for layer in tied])  # a layer of its own at 4
weight_shape, bias_shape = shared.weight.shape, shared.bias.shape  # of the shared tensors

panels = []
for title, model in (
    ("tied: model[2] is model[4]", tied),
    ("untied: a copy at each position", untied),
):
    tensors = []  # the distinct parameter tensors, by identity, in the order names reach them
    points_at = {}  # name -> index into tensors
    for name, p in model.named_parameters(remove_duplicate=False):  # every name: "2.weight", ...
        if not any(p is t for t in tensors):
            tensors.append(p)
        points_at[name] = next(i for i, t in enumerate(tensors) if t is p)
    groups = [[name for name, j in points_at.items() if j == i] for i in range(len(tensors))]
    panels.append(
        {
            "title": title,
            "layers": [f"{i}: {type(layer).__name__}" for i, layer in enumerate(model)],
            "points_at": points_at,
            "tensors": tensors,
            "memory": {t.untyped_storage().data_ptr() for t in tensors},  # distinct storages
            "count": sum(t.numel() for t in tensors),
            "groups": groups,  # for each tensor, the names that point at it
            "shared_groups": [group for group in groups if len(group) > 1],
        }
    )

# Layout: the layers in one column, one row each; each tensor in a second column, level with
# the layers that point at it (a weight just above, a bias just below).
fig, axes = plt.subplots(1, 2, figsize=(7, 4))
for ax, panel in zip(axes, panels):
    boxes = []
    for row, label in enumerate(panel["layers"]):
        bbox = {"boxstyle": "round,pad=0.3", "fc": "white", "ec": "black"}
        boxes.append(ax.text(0, -row, label, ha="center", va="center", fontsize=8, bbox=bbox))
    tensor_boxes = []
    for tensor, pointing in zip(panel["tensors"], panel["groups"]):
        rows = [int(name.split(".")[0]) for name in pointing]
        attribute = pointing[0].split(".")[1]  # weight or bias
        y = -sum(rows) / len(rows) + (0.24 if attribute == "weight" else -0.24)
        label = f"{attribute} {tuple(tensor.shape)}: {tensor.numel()}"
        fill = to_rgba("C1" if len(pointing) > 1 else "C0", 0.35)
        bbox = {"boxstyle": "round,pad=0.25", "fc": fill, "ec": "black"}
        tensor_boxes.append(ax.text(1.15, y, label, va="center", fontsize=8, bbox=bbox))
    for name, i in panel["points_at"].items():
        row = name.split(".")[0]
        shared_tensor = len(panel["groups"][i]) > 1
        ax.annotate(
            "",
            xy=(0, 0.5),
            xycoords=tensor_boxes[i],
            xytext=(1, 0.5),
            textcoords=boxes[int(row)],
            arrowprops={"arrowstyle": "->", "color": "C1" if shared_tensor else "black", "lw": 1},
        )
    names, tensors = len(panel["points_at"]), len(panel["tensors"])
    summary = f"{names} names → {tensors} tensors, {panel['count']} parameters"
    ax.text(0.8, -len(panel["layers"]) + 0.2, summary, ha="center", fontsize=8)
    ax.set_title(panel["title"], fontsize=10)
    ax.set_xlim(-0.6, 2.25)
    ax.set_ylim(-len(panel["layers"]), 0.6)
    ax.axis("off")
caption = "arrows: named_parameters(remove_duplicate=False); tensors: shape and number of values"
fig.text(0.5, 0.01, caption, ha="center", fontsize=8)
fig.tight_layout(rect=(0, 0.04, 1, 1))
fig.savefig("shared_tensors.svg", metadata={"Date": None})

for panel in panels:
    names, tensors, memory = (len(panel[key]) for key in ("points_at", "tensors", "memory"))
    print(f"{panel['title']}: {names} names -> {tensors} tensors ({memory} storages), ", end="")
    print(f"{panel['count']} parameters")
    print("  names of one tensor:", panel["shared_groups"] or "none")

tied_panel, untied_panel = panels
tied_count, untied_count = tied_panel["count"], untied_panel["count"]
tied_names, tied_tensors = len(tied_panel["points_at"]), len(tied_panel["tensors"])
tied_groups = [["2.weight", "4.weight"], ["2.bias", "4.bias"]]
assert tied_panel["shared_groups"] == tied_groups  # witness: two-names
assert (tied_names, tied_tensors) == (8, 6) and len(tied_panel["memory"]) == 6
untied_tensors, untied_groups = len(untied_panel["tensors"]), untied_panel["shared_groups"]
untied_memory, untied_names = len(untied_panel["memory"]), len(untied_panel["points_at"])
assert untied_tensors == untied_memory == 8 and untied_groups == []  # witness: own-tensor
assert (tied_count, untied_count) == (121, 193)

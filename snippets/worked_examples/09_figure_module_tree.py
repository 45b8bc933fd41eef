# guide: figure=module_tree.svg
"""SmallNet's module tree, read from named_modules(), with parameter counts and state_dict keys."""

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import to_rgba
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text


class CenteredLayer(nn.Module):  # as in 04_small_network.py
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class SmallNet(nn.Module):  # as in 04_small_network.py
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, d_out),
            CenteredLayer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


model = SmallNet(10, 8, 3)
modules = dict(model.named_modules())  # "" is the model itself, then "layers", "layers.0", ...
children = {name: [] for name in modules}
for name in modules:
    if name:
        children[name.rpartition(".")[0]].append(name)
counts = {name: sum(p.numel() for p in module.parameters()) for name, module in modules.items()}
state = model.state_dict()
keys = {name: [k for k in state if k.rpartition(".")[0] == name] for name in modules}
total = counts[""]

# Layout: depth (dots in the name) -> column; leaves one row each, each parent centred on its
# children; beside each leaf, its state_dict keys.
rows = {}
for name in modules:
    if not children[name]:
        rows[name] = len(rows)
for name in sorted((n for n in modules if children[n]), key=lambda n: -len(n)):
    rows[name] = sum(rows[c] for c in children[name]) / len(children[name])
level = {name: name.count(".") + 1 if name else 0 for name in modules}  # "" 0, "layers" 1, ...
column = {name: 1.3 * level[name] for name in modules}
leaves = [name for name in modules if not children[name]]

fig, ax = plt.subplots(figsize=(7, 3.3))
boxes = {}
for name, module in modules.items():
    label = f"{name or 'model'}\n{type(module).__name__}\n{counts[name]} parameters"
    fill = to_rgba("C0", 0.35) if counts[name] else "white"
    bbox = {"boxstyle": "round,pad=0.3", "fc": fill, "ec": "black"}
    boxes[name] = ax.text(
        column[name], -rows[name], label, ha="center", va="center", fontsize=8, bbox=bbox
    )
for name in modules:
    for child in children[name]:
        ax.annotate(
            "",
            xy=(0, 0.5),
            xycoords=boxes[child],
            xytext=(1, 0.5),
            textcoords=boxes[name],
            arrowprops={"arrowstyle": "-", "color": "black", "lw": 1},
        )
key_x = column[leaves[0]] + 0.65  # the columns of the key table: key, shape, numbers
columns = ((key_x, "left"), (key_x + 1.25, "left"), (key_x + 2.35, "right"))


def table_row(y: float, cells: tuple, **style) -> None:
    for (x, align), cell in zip(columns, cells):
        ax.text(x, y, cell, ha=align, va="center", fontsize=8, family="monospace", **style)


table_row(0.7, ("state_dict() key", "shape", "numbers"))
for name in leaves:
    for k, key in enumerate(keys[name]):
        y = -rows[name] + 0.15 * (len(keys[name]) - 1) - 0.3 * k
        table_row(y, (key, str(tuple(state[key].shape)), str(state[key].numel())))
    if not keys[name]:
        table_row(-rows[name], ("(no keys)", "", ""))
ax.plot([key_x, columns[2][0]], [-len(leaves) + 0.62] * 2, color="black", lw=0.8)
table_row(-len(leaves) + 0.4, (f"{len(state)} keys", "", str(total)))
ax.set_xlim(-0.55, 5.7)
ax.set_ylim(-len(leaves) + 0.2, 1.0)
ax.axis("off")
fig.tight_layout()
fig.savefig("module_tree.svg", metadata={"Date": None})

for name, module in modules.items():
    shown = ", ".join(keys[name]) if not children[name] else "sum of " + ", ".join(children[name])
    module_name = f"{name or 'model'} ({type(module).__name__})"
    print(f"{'  ' * level[name]}{module_name}: {counts[name]}  [{shown}]")
sizes = " + ".join(str(t.numel()) for t in state.values())
key_count = len(state)
first_linear_count, second_linear_count = counts["layers.0"], counts["layers.2"]
print(f"state_dict: {key_count} keys, {sizes} = {sum(t.numel() for t in state.values())}")

assert total == sum(t.numel() for t in state.values()) == 115 and key_count == 4
# The shapes and sizes that the page's alt text for the figure quotes.
assert [tuple(t.shape) for t in state.values()] == [(8, 10), (8,), (3, 8), (3,)]
assert sizes == "80 + 8 + 24 + 3"
drawn_keys = [k for name in leaves for k in keys[name]]  # the keys the figure shows, leaf by leaf
# Why the keys are the parameter names: the state_dict holds only parameters (keep_vars=True
# gives the tensors themselves), and none is shared (reached by two paths, a shared one would get
# a key per path but one name in named_parameters()).
state_tensors = model.state_dict(keep_vars=True).values()
only_parameters = all(isinstance(t, nn.Parameter) for t in state_tensors)
every_path = [name for name, _ in model.named_parameters(remove_duplicate=False)]
parameter_names = [name for name, _ in model.named_parameters()]
only_unshared_parameters = only_parameters and every_path == parameter_names
assert only_unshared_parameters and drawn_keys == list(state) == parameter_names  # witness: keys
# A parent's count is its own parameters plus its children's, a shared one counted once. Here no
# parent owns a parameter itself and none is shared, so each parent's count is its children's sum.
parents = [name for name in modules if children[name]]
parents_own_none = all(not list(modules[p].parameters(recurse=False)) for p in parents)
adds_up = all(counts[p] == sum(counts[c] for c in children[p]) for p in parents)
assert parents_own_none and only_unshared_parameters and adds_up  # witness: add-up
assert [counts[name] for name in leaves] == [88, 0, 27, 0]


# state_dict() saves, for each module, its parameters, its persistent buffers and its extra state
# (what get_extra_state returns, for a class that defines it). Some leaves have none of the three.
def holds_no_state(module: nn.Module) -> bool:
    no_tensors = not [*module.parameters(), *module.buffers()]
    return no_tensors and type(module).get_extra_state is nn.Module.get_extra_state


holds_nothing = [name for name in leaves if holds_no_state(modules[name])]
no_keys = [name for name in leaves if not keys[name]]
assert no_keys == holds_nothing == ["layers.1", "layers.3"]  # witness: no-keys

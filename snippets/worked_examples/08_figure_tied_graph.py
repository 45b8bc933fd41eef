# guide: figure=tied_graph.svg
"""The autograd graphs of one layer used twice and of two separate layers, read from grad_fn."""

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import to_rgba
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def layer_with_weight(value: float) -> nn.Linear:
    layer = nn.Linear(1, 1, bias=False).to(device)
    with torch.no_grad():
        layer.weight.fill_(value)
    return layer


def read_graph(root) -> tuple[list, list]:
    """Every node reachable from `root` through next_functions, and the edges (parent, child)."""
    nodes, edges, todo = [root], [], [root]
    while todo:
        node = todo.pop(0)
        for child, _ in node.next_functions:
            if child is None:  # an input that needs no gradient: x or the target
                continue
            if not any(child is known for known in nodes):
                nodes.append(child)
                todo.append(child)
            edges.append((nodes.index(node), next(i for i, n in enumerate(nodes) if n is child)))
    return nodes, edges


x = torch.tensor([[2.0]], device=device)
target = torch.tensor([[10.0]], device=device)
shared = layer_with_weight(3.0)
first, second = layer_with_weight(3.0), layer_with_weight(3.0)
panels = []
for title, inner, outer, weights in (
    ("one layer used twice", shared, shared, {"w": shared.weight}),
    ("two separate layers", first, second, {"w₁": first.weight, "w₂": second.weight}),
):
    hidden = inner(x)
    y_hat = outer(hidden)
    loss = (y_hat - target).pow(2).sum()
    nodes, edges = read_graph(loss.grad_fn)
    leaves = {  # each AccumulateGrad node -> the name of the weight it writes .grad into
        i: next(name for name, w in weights.items() if node.variable is w)
        for i, node in enumerate(nodes)
        if type(node).__name__ == "AccumulateGrad"
    }
    paths = [(parent, child) for parent, child in edges if child in leaves]
    # A hook on the node above each AccumulateGrad records the gradient it sends down.
    carried = {}
    for parent, child in paths:
        position = [c for c, _ in nodes[parent].next_functions].index(nodes[child])

        def record(grad_inputs, _, into=carried, path=(parent, child), position=position):
            into[path] = grad_inputs[position].item()

        nodes[parent].register_hook(record)
    loss.backward()
    panels.append(
        {
            "title": title,
            "nodes": nodes,
            "edges": edges,
            "leaves": leaves,
            "carried": carried,
            "names": {"L": loss.grad_fn, "ŷ": y_hat.grad_fn, "h": hidden.grad_fn},
            "grads": {name: w.grad.item() for name, w in weights.items()},
        }
    )

# Layout: a node's row is its longest path from the loss, AccumulateGrad nodes on the last row;
# in a row, each node sits under the mean of its parents, and neighbours one unit apart.
fig, axes = plt.subplots(1, 2, figsize=(7, 4.2))
for ax, panel in zip(axes, panels):
    nodes, edges, leaves = panel["nodes"], panel["edges"], panel["leaves"]
    depth = [0] * len(nodes)
    for _ in nodes:
        for parent, child in edges:
            depth[child] = max(depth[child], depth[parent] + 1)
    for i in leaves:
        depth[i] = max(depth)
    xs = [0.0] * len(nodes)
    for row in range(1, max(depth) + 1):
        members = [i for i in range(len(nodes)) if depth[i] == row]
        for i in members:
            above = [xs[parent] for parent, child in edges if child == i]
            xs[i] = sum(above) / len(above)
        members.sort(key=lambda i: (xs[i], i))
        centre = sum(xs[i] for i in members) / len(members)
        for k, i in enumerate(members):
            xs[i] = centre + k - (len(members) - 1) / 2
    boxes = []
    for i, node in enumerate(nodes):
        label = type(node).__name__
        label += "".join(f"\n{name}.grad_fn" for name, fn in panel["names"].items() if fn is node)
        fill = "white"
        if i in leaves:
            label += f"\n{leaves[i]}.grad = {panel['grads'][leaves[i]]:g}"
            fill = to_rgba("C0", 0.35)
        bbox = {"boxstyle": "round,pad=0.3", "fc": fill, "ec": "black"}
        boxes.append(
            ax.text(xs[i], -depth[i], label, ha="center", va="center", fontsize=8, bbox=bbox)
        )
    for parent, child in edges:
        into_weight = (parent, child) in panel["carried"]
        ax.annotate(
            "",
            xy=(0.5, 1),
            xycoords=boxes[child],
            xytext=(0.5, 0),
            textcoords=boxes[parent],
            arrowprops={"arrowstyle": "->", "color": "C1" if into_weight else "black", "lw": 1.2},
        )
        if into_weight:  # label the edge with the gradient it carries, right of its middle
            middle = ((xs[parent] + xs[child]) / 2 + 0.08, -(depth[parent] + depth[child]) / 2)
            ax.text(*middle, f"{panel['carried'][(parent, child)]:g}", ha="left", fontsize=8)
    ax.set_title(panel["title"], fontsize=10)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-max(depth) - 0.45, 0.45)
    ax.axis("off")
fig.text(
    0.5,
    0.02,
    "arrows: next_functions, the way the gradient flows; "
    "orange: the gradient a path delivers to a weight",
    ha="center",
    fontsize=8,
)
fig.tight_layout(rect=(0, 0.05, 1, 1))
fig.savefig("tied_graph.svg", metadata={"Date": None})

for panel in panels:
    print(f"{panel['title']}: {len(panel['nodes'])} nodes")
    for i, name in sorted(panel["leaves"].items(), key=lambda item: item[1]):
        into = [g for (parent, child), g in panel["carried"].items() if child == i]
        print(f"  AccumulateGrad({name}) is reached by {len(into)} path(s) carrying ", end="")
        print(" + ".join(f"{g:g}" for g in into), f"-> {name}.grad = {panel['grads'][name]:g}")

tied, untied = panels
tied_carried, untied_carried = list(tied["carried"].values()), list(untied["carried"].values())


def merged(panel: dict) -> list:
    """The graph's edges, each node named by its type and its place in the walk, and every
    AccumulateGrad node named alike: as if all of them were one node."""
    inner = [i for i in range(len(panel["nodes"])) if i not in panel["leaves"]]
    name = {i: f"{k} {type(panel['nodes'][i]).__name__}" for k, i in enumerate(inner)}
    return sorted((name[p], name.get(c, "AccumulateGrad")) for p, c in panel["edges"])


same_above = merged(tied) == merged(untied)
print("with the AccumulateGrad nodes merged, the two graphs are the same:", same_above)

first_path, second_path = tied_carried  # what each path delivers to w
tied_grad = tied["grads"]["w"]
untied_grad = untied["grads"]["w₁"]  # and w₂'s, the same (asserted below)

assert len(tied["leaves"]) == 1 and len(tied_carried) == 2  # witness: two-paths-one-node
assert first_path == second_path == 96 and first_path + second_path == tied_grad  # witness: sum
untied_received = {untied["leaves"][child]: g for (_, child), g in untied["carried"].items()}
one_path_each = len(untied["leaves"]) == len(untied_carried) == 2
assert one_path_each and untied_received == untied["grads"]  # witness: one-path-each
assert untied["grads"] == {"w₁": 96, "w₂": 96}
assert same_above and len(untied["leaves"]) == 2  # witness: same-operations

"""Freeze a pretrained backbone, train only the head, and count what is trainable."""

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()
        )
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def count(parameters) -> int:
    return sum(p.numel() for p in parameters)


torch.manual_seed(0)
model = Classifier().to(device)
model.backbone.requires_grad_(False)  # every parameter of the backbone, at any depth

backbone_frozen = not any(p.requires_grad for p in model.backbone.parameters())
nested = nn.Sequential(nn.Sequential(nn.Sequential(nn.Linear(2, 2))))  # a weight 3 levels down
nested.requires_grad_(False)
deep_frozen = not nested[0][0][0].weight.requires_grad
print("frozen: the whole backbone", backbone_frozen, " a weight three levels down", deep_frozen)
all_parameters = count(model.parameters())
trainable = count(p for p in model.parameters() if p.requires_grad)
frozen = all_parameters - trainable
head_weights = model.head.out_features * model.head.in_features
head_biases = model.head.out_features
print(f"numbers in parameters: {all_parameters} in all, {trainable} trainable, {frozen} frozen")

# Give the optimizer only what should change.
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
optimizer_tensors = sum(len(group["params"]) for group in optimizer.param_groups)
# An optimizer would take every parameter, frozen ones included, without an error.
optimizer_with_frozen = torch.optim.AdamW(model.parameters())
accepted_tensors = sum(len(group["params"]) for group in optimizer_with_frozen.param_groups)
print("tensors in the optimizer:", optimizer_tensors, " given all parameters:", accepted_tensors)

X = torch.randn(16, 4).to(device)
y = torch.randint(0, 3, (16,)).to(device)


def train_step() -> list[str]:
    """One optimizer step; returns the backbone's state_dict entries that it changed."""
    before = {key: value.clone() for key, value in model.backbone.state_dict().items()}
    nn.functional.cross_entropy(model(X), y).backward()
    optimizer.step()
    optimizer.zero_grad()
    after = model.backbone.state_dict()
    return [key for key in before if not torch.equal(before[key], after[key])]


head_before = model.head.weight.detach().clone()
changed_in_train_mode = train_step()
head_moved = not torch.equal(head_before, model.head.weight)
frozen_grad_is_none = all(p.grad is None for p in model.backbone.parameters())
print("head weight moved:", head_moved, " backbone .grad all None:", frozen_grad_is_none)
print("backbone entries changed in train mode:", changed_in_train_mode)

# The statistics change in the forward pass: a forward pass alone changes them, even under
# torch.no_grad(), as long as the layer is in training mode.
mean_before = model.backbone[1].running_mean.clone()
batch_norm_in_training_mode = model.backbone[1].training
with torch.no_grad():
    model.backbone(X)
forward_changed_stats = not torch.equal(mean_before, model.backbone[1].running_mean)
print("a forward pass alone, under no_grad(), changed running_mean:", forward_changed_stats)

model.backbone.eval()  # keep BatchNorm's statistics fixed too; model.train() would undo this
changed_in_eval_mode = train_step()
print("backbone entries changed with the backbone in eval mode:", changed_in_eval_mode)
model.train()  # switches every submodule back to training mode, the backbone included
back_in_training = model.backbone[1].training
print("after model.train(), the backbone's BatchNorm is in training mode:", back_in_training)


# What freezing spares autograd.
def saved_for_backward() -> tuple[list[torch.Tensor], torch.Tensor, int, set[int]]:
    """What autograd keeps for the backward pass of one forward pass: the tensors it saves, the
    head's input, the numbers in new memory (not a parameter, a buffer or X, each counted once),
    and the parameters that the backward graph reaches (by id)."""
    saved = []

    def keep(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        features = model.backbone(X)  # the head's input
        output = model.head(features)
    numbers = sum(t.numel() for t in in_new_memory(saved))
    return saved, features, numbers, reached_by_backward(output)


def in_new_memory(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """The tensors in memory of their own: not a parameter, a buffer or X, each memory once."""
    known = {t.data_ptr() for t in (*model.parameters(), *model.buffers(), X)}
    return list({t.data_ptr(): t for t in tensors if t.data_ptr() not in known}.values())


def reached_by_backward(output: torch.Tensor) -> set[int]:
    """The parameters (by id) that the backward graph of `output` reaches: its AccumulateGrad
    nodes, where gradients reach parameters. A parameter with no such node gets no gradient."""
    reached, nodes = set(), [output.grad_fn]
    while nodes:
        node = nodes.pop()
        if hasattr(node, "variable"):
            reached.add(id(node.variable))
        nodes.extend(next_node for next_node, _ in node.next_functions if next_node is not None)
    return reached


# The frozen part comes first, and X does not require grad, so autograd records no graph for the
# backbone at all, and keeps only the head's input for the backward pass. (Looked at in training
# mode, as in a training step; BatchNorm's statistics are put back afterwards, so that these extra
# forward passes change nothing.)
statistics = {key: value.clone() for key, value in model.backbone[1].state_dict().items()}
backbone_output_tracked = model.backbone(X).requires_grad
tracked_for_tracked_input = model.backbone(X.clone().requires_grad_()).requires_grad
saved, features, saved_numbers, reached = saved_for_backward()
saved_frozen = [tuple(t.shape) for t in saved]
saved_head_input = len(saved) == 1 and saved[0].data_ptr() == features.data_ptr()
model.backbone.requires_grad_(True)
_, _, trainable_saved_numbers, reached_trainable = saved_for_backward()
model.backbone.requires_grad_(False)
model.backbone[1].load_state_dict(statistics)  # undo these forward passes' updates
print("the backbone's output requires grad:", backbone_output_tracked, end=";  ")
print("with an input that requires grad:", tracked_for_tracked_input)
print("saved for backward:", saved_frozen, " the head's input:", saved_head_input)
print("  numbers in new memory:", saved_numbers, end="  ")
print("with a trainable backbone:", trainable_saved_numbers)
print("parameters the backward pass reaches:", len(reached), end=";  ")
print("with a trainable backbone:", len(reached_trainable))

# A frozen layer in the middle: the backward graph goes through it to the first layer, but has no
# AccumulateGrad node for the frozen layer's own parameters.
sandwich = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 6), nn.Linear(6, 2)).to(device)
sandwich[1].requires_grad_(False)
reached_sandwich = reached_by_backward(sandwich(X))
middle_reached = any(id(p) in reached_sandwich for p in sandwich[1].parameters())
first_reached = all(id(p) in reached_sandwich for p in sandwich[0].parameters())
print("a frozen middle layer: the backward pass reaches its parameters:", middle_reached, end=", ")
print("the first layer's:", first_reached)


class ShapeLog(TorchDispatchMode):
    """The shapes of the tensors each operation computes (views, such as a transpose, compute
    nothing and are left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view:
            return out
        outs = out if isinstance(out, (tuple, list)) else [out]
        self.shapes += [tuple(t.shape) for t in outs if isinstance(t, torch.Tensor)]
        return out


def middle_shapes_in_backward() -> tuple[list[tuple[int, ...]], bool]:
    """Which tensors of the middle layer's weight or bias shape the backward pass computes
    (the sizes differ from layer to layer, so no other gradient has these shapes), and whether
    it computes the gradient of the middle layer's input, (16, 5), for the first layer."""
    loss = sandwich(X).sum()
    with ShapeLog() as log:
        loss.backward()
    sandwich.zero_grad()
    middle = [(6, 5), (5, 6), (6,), (1, 6)]  # the weight, its transpose, the bias, a bias row
    return [shape for shape in log.shapes if shape in middle], (16, 5) in log.shapes


computed_frozen, input_grad_computed = middle_shapes_in_backward()
sandwich[1].requires_grad_(True)
computed_trainable, _ = middle_shapes_in_backward()
sandwich[1].requires_grad_(False)
print("  tensors of its weight's or bias's shape that backward computes:", computed_frozen, end=";")
print("  if trainable:", sorted(set(computed_trainable)))

stats_changed = len(changed_in_train_mode)
first_changed = changed_in_train_mode[0]
assert (all_parameters, trainable, frozen) == (155, 27, 128)
assert backbone_frozen and deep_frozen  # witness: frozen-at-any-depth
no_graph = not backbone_output_tracked and tracked_for_tracked_input
assert no_graph  # witness: no-graph-for-backbone
fewer_saved = saved_numbers < trainable_saved_numbers
assert saved_head_input and saved_frozen == [(16, 8)] and fewer_saved  # witness: saves-less
head_only = reached == {id(p) for p in model.head.parameters()}
assert head_only and len(reached_trainable) == 8  # witness: backward-reaches-head-only
no_backbone_node = not any(id(p) in reached for p in model.backbone.parameters())
no_frozen_node = no_backbone_node and not middle_reached and first_reached
assert no_frozen_node  # witness: frozen-no-gradient-node
input_grad_only = input_grad_computed and computed_frozen == []
assert input_grad_only and (6, 5) in computed_trainable  # witness: frozen-gradient-not-computed
assert trainable == head_weights + head_biases and (head_weights, head_biases) == (24, 3)
assert optimizer_tensors == 2
assert accepted_tensors == len(list(model.parameters())) == 8  # witness: all-accepted
assert head_moved  # witness: head-moved
assert frozen_grad_is_none  # witness: frozen-grad-none
# No parameter moved, but BatchNorm in training mode still updated its running statistics.
assert changed_in_train_mode == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
assert batch_norm_in_training_mode and forward_changed_stats  # witness: stats-still-change
assert stats_changed == 3 and first_changed == "1.running_mean"
assert changed_in_eval_mode == []  # witness: eval-fixes-stats
assert back_in_training  # witness: train-switches-back

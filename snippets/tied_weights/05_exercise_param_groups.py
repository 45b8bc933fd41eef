"""Exercise: weight decay on matrices only, for a model with tied embeddings."""

import warnings

import torch
from torch import nn


class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.mix = nn.Linear(4, 4)
        self.out = nn.Linear(4, 10)
        self.out.weight = self.embed.weight


class OutFirst(nn.Module):
    """The same tie, with the output layer assigned before the embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.out = nn.Linear(4, 10)
        self.embed = nn.Embedding(10, 4)
        self.out.weight = self.embed.weight


class Placeholder(nn.Module):
    """The real output layer is assigned after the embedding, into a slot taken before it."""

    def __init__(self) -> None:
        super().__init__()
        self.out = nn.Identity()  # a placeholder registers "out" first
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10)  # assigned again: "out" keeps its place
        self.out.weight = self.embed.weight


class OnParent(TiedPair):
    """The tied tensor also registered on the model itself."""

    def __init__(self) -> None:
        super().__init__()
        self.head_weight = self.embed.weight


def first_name(model: nn.Module, tensor: torch.Tensor) -> str:
    return next(name for name, p in model.named_parameters() if p is tensor)


def groups_by_tensor(model: nn.Module) -> list[dict]:
    """The rule decided by the tensor itself, whichever name reaches it first, in one pass."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p is model.embed.weight or name.endswith("bias") else decay).append(p)
    return [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]


def tied_without_decay(model: nn.Module) -> bool:
    """AdamW accepts the groups with no warning, and holds the tied tensor once, without decay."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a tensor listed twice would warn: make that an error
        decay, no_decay = torch.optim.AdamW(groups_by_tensor(model)).param_groups
    tied = model.embed.weight
    once = sum(p is tied for p in no_decay["params"]) == 1
    return once and all(p is not tied for p in decay["params"])


def one_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """How far one step with a gradient of ones moves each tensor, on average."""
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    return {name: (before[name] - p).mean().item() for name, p in model.named_parameters()}


model = TiedPair()

# A rule that looks at names: no decay for embeddings and biases. Walking every name
# (remove_duplicate=False) sees the tied tensor as "embed.weight" *and* as "out.weight".
decay, no_decay = [], []
for name, parameter in model.named_parameters(remove_duplicate=False):
    (no_decay if name.startswith("embed") or name.endswith("bias") else decay).append(parameter)
try:
    torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    )
except ValueError as error:
    group_message = f"{type(error).__name__}: {error}"
    print(group_message)

# Fix: decide once per tensor. named_parameters() yields each tensor under its first name only.
decay = [
    p
    for name, p in model.named_parameters()
    if not (name.startswith("embed") or name.endswith("bias"))
]
no_decay = [
    p for name, p in model.named_parameters() if name.startswith("embed") or name.endswith("bias")
]
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
)
group_sizes = [len(group["params"]) for group in optimizer.param_groups]
out_first, placeholder, on_parent = OutFirst(), Placeholder(), OnParent()
tied_name = first_name(model, model.out.weight)
out_first_name = first_name(out_first, out_first.out.weight)
placeholder_name = first_name(placeholder, placeholder.out.weight)
on_parent_name = first_name(on_parent, on_parent.out.weight)
print("tensors per group (decay, no decay):", group_sizes)
print("the tied tensor is seen once, as", tied_name, "- with out assigned first:", out_first_name)
print("with a placeholder out:", placeholder_name, "- also set on the model:", on_parent_name)
models = (model, out_first, placeholder, on_parent)
by_tensor = [tied_without_decay(m) for m in models]
print("decided by the tensor, no decay for the tied one in all four models:", all(by_tensor))

# Every name in ONE group is no error: a warning, and the group keeps both entries of the tied
# tensor, so the tied tensor takes a step per entry.
every_name = [p for _, p in model.named_parameters(remove_duplicate=False)]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sgd = torch.optim.SGD(every_name, lr=0.1)
duplicate_warning = "optimizer contains a parameter group with duplicate parameters"
warned = [str(w.message) for w in caught if str(w.message).startswith(duplicate_warning)]
for message in warned:  # the whole warning, one clause a line
    print("one group, warning:", message.replace("; ", ";\n  "))
entries = sum(p is model.embed.weight for p in sgd.param_groups[0]["params"])
print("entries of the tied tensor in the group:", entries)
moved = one_step(model, sgd)
print(f"moved by one SGD step: mix.weight {moved['mix.weight']:.2f},", end=" ")
print(f"the tied embed.weight {moved['embed.weight']:.2f}")
# Another implementation, another factor: fused Adam on the CPU, with the same one group.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the same duplicate warning
    adam = torch.optim.Adam(every_name, lr=0.1, fused=True)
adam_moved = one_step(model, adam)
adam_factor = adam_moved["embed.weight"] / adam_moved["mix.weight"]
print(f"fused Adam, one step: the tied embed.weight moves {adam_factor:.2f} times as far")

covered = {id(p) for group in optimizer.param_groups for p in group["params"]}
assert group_message.startswith("ValueError")  # witness: optimizer-refuses
assert "more than one parameter group" in group_message
assert group_sizes == [1, 3]  # mix.weight | embed.weight (tied with out.weight), mix.bias, out.bias
assert covered == {id(p) for p in model.parameters()}  # witness: once-per-tensor-fixes
assert tied_name == "embed.weight" and out_first_name == "out.weight"  # witness: init-order-decides
assert placeholder_name == "out.weight"  # witness: slot-order-decides
assert on_parent_name == "head_weight"  # witness: parent-first
assert by_tensor == [True] * 4  # witness: by-tensor-any-order
assert len(warned) == 1  # witness: one-group-warns
assert "in future, this will cause an error" in warned[0]  # witness: warning-announces-error
# Each tensor moved by lr x grad = 0.1 per entry: the tied one, listed twice, by 0.2.
stepped_once = abs(moved["mix.weight"] - 0.1) < 1e-5
stepped_twice = abs(moved["embed.weight"] - 0.2) < 1e-5
assert entries == 2 and stepped_once and stepped_twice  # witness: one-group-steps-twice
assert 1.7 < adam_factor < 1.8  # witness: fused-adam-not-twice

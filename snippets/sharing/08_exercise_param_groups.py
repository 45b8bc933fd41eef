"""Exercise: weight decay on matrices only, for a model with tied embeddings."""

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
tied_name = next(name for name, p in model.named_parameters() if p is model.out.weight)
out_first = OutFirst()
out_first_name = next(name for name, p in out_first.named_parameters() if p is out_first.out.weight)
print("tensors per group (decay, no decay):", group_sizes)
print("the tied tensor is seen once, as", tied_name, "- with out assigned first:", out_first_name)

covered = {id(p) for group in optimizer.param_groups for p in group["params"]}
assert group_message.startswith("ValueError")  # witness: optimizer-refuses
assert "more than one parameter group" in group_message
assert group_sizes == [1, 3]  # mix.weight | embed.weight (tied with out.weight), mix.bias, out.bias
assert covered == {id(p) for p in model.parameters()}  # witness: once-per-tensor-fixes
assert tied_name == "embed.weight" and out_first_name == "out.weight"  # witness: init-order-decides

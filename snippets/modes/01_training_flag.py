"""train() and eval() set the `training` flag on a module and on every submodule below it."""

import torch
from torch import nn

model = nn.Sequential(
    nn.Linear(4, 8),
    nn.Sequential(nn.BatchNorm1d(8), nn.ReLU()),
    nn.Dropout(0.5),
    nn.Linear(8, 2),
)


def modes(module: nn.Module) -> str:
    """One letter per module, in model.modules() order: T for training, E for evaluation."""
    return " ".join("T" if m.training else "E" for m in module.modules())


module_names = " ".join(type(m).__name__ for m in model.modules())
module_count = len(list(model.modules()))
print(f"{'modules, in order:':23}", module_names)

new_model = modes(model)  # every module starts in training mode
print(f"{'new model:':23}", new_model)
returned = model.eval()  # recursive; returns the model itself, so calls can be chained
after_eval = modes(model)
print(f"{'after eval():':23}", after_eval)
returned_by_train = model.train()
print(f"{'after train():':23}", modes(model))

model.training = False  # assigning the attribute changes this one module only
after_assignment = modes(model)
print(f"{'after training=False:':23}", after_assignment)

model.train()
model[1].eval()  # one branch can be in another mode than the rest ...
mixed = modes(model)
print(f"{'after model[1].eval():':23}", mixed)
model.train()  # ... until the next call on a parent resets it
print(f"{'after train():':23}", modes(model))


class Hidden(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drops = [nn.Dropout(0.5)]  # a plain list: the Dropout is not registered


hidden = Hidden().eval()
missed = hidden.drops[0].training and list(hidden.modules()) == [hidden]  # eval() did not reach it
print("eval() on a module, a Dropout in a plain list:", "T" if hidden.drops[0].training else "E")


class Recorded(nn.Linear):
    """A Linear layer that records the mode of every call to its train()."""

    def train(self, mode: bool = True) -> "Recorded":
        train_calls.append(mode)
        return super().train(mode)


train_calls: list[bool] = []
Recorded(2, 2).eval()
print("eval() on a module calls its train() with:", train_calls)
eval_calls = list(train_calls)
train_calls.clear()
nn.Sequential(nn.Sequential(Recorded(2, 2))).train()  # a grandparent's train() ...
print("train() on a grandparent calls the module's train() with:", train_calls)  # ... reaches it

exported = torch.export.export(nn.Linear(1, 1), (torch.ones(1),)).module()
refused = []
for name in ("eval", "train"):
    try:
        getattr(exported, name)()
    except NotImplementedError:
        refused.append(name)
print("a torch.export module refuses:", refused)
parent = nn.Sequential(nn.Linear(1, 1), exported, nn.Dropout())
try:
    parent.eval()
except NotImplementedError:  # from the exported child, after the two before it switched
    half_switched = " ".join("T" if m.training else "E" for m in (parent, *parent))
print("a parent holding one raises on eval(), leaving it and its children at:", half_switched)

assert module_count == 7
assert new_model == "T T T T T T T"  # witness: starts-in-training
assert after_eval == "E E E E E E E"  # witness: eval-recurses
assert missed  # witness: unregistered-missed
assert returned is model and returned_by_train is model  # witness: returns-module
assert after_assignment == "E T T T T T T"  # witness: assignment-does-not-recurse
assert mixed == "T T E E E T T"  # witness: branch-mode
assert modes(model) == "T T T T T T T"  # witness: parent-train-resets
assert eval_calls == [False]  # witness: eval-is-train-false
assert train_calls == [True]  # witness: train-calls-each-child
assert type(model.__dict__["training"]) is bool  # witness: plain-attribute
assert refused == ["eval", "train"]  # witness: export-refuses
assert half_switched == "E E T T"  # witness: export-parent-half-switched

"""The same network as a class: layers are created in __init__, used in forward."""

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class MLP(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()  # first: sets up the registries that the assignments below fill
        self.hidden = nn.Linear(d_in, d_hidden)
        self.output = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(F.relu(self.hidden(x)))


# --8<-- [end:class]
torch.manual_seed(0)
model = MLP(8, 32, 4).to(device)
X = torch.randn(2, 8).to(device)
output_shape = tuple(model(X).shape)
print(model)
print("output shape:", output_shape)

names = [name for name, _ in model.named_parameters()]
parameter_names = ", ".join(names)
parameter_count = sum(p.numel() for p in model.parameters())
print("parameters:", parameter_names, "->", parameter_count, "numbers")
child_names = [name for name, _ in model.named_children()]
relu_in_printout = "ReLU" in str(model)  # F.relu is a call in forward, not a child


# The same network with its activation as a module: now a child that can be seen and reached.
class ModuleMLP(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(d_in, d_hidden)
        self.act = nn.ReLU()
        self.output = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.act(self.hidden(x)))


variant = ModuleMLP(8, 32, 4).to(device)
act_printed = "(act): ReLU()" in str(variant)
act_calls = []
variant.act.register_forward_hook(lambda module, inputs, output: act_calls.append(type(module)))
variant(X)
act_hook_runs = len(act_calls)  # the hook on the ReLU child ran at the call
tanh = nn.Tanh()
variant.act = tanh  # assigning to the same name replaces the registered child
act_replaced = dict(variant.named_children())["act"] is tanh
uses_tanh = torch.allclose(variant(X), variant.output(torch.tanh(variant.hidden(X))))
print(f"ModuleMLP prints its ReLU: {act_printed}; a hook on it ran {act_hook_runs} time")
print("after assigning a Tanh: act is", type(variant.act).__name__, " forward uses it:", uses_tanh)

# F.relu can stand in for nn.ReLU because ReLU has no state and ignores the mode. Dropout depends
# on the mode: F.dropout defaults to training=True, and eval() reaches only registered children.
relu = nn.ReLU()
relu_stateless = not [*relu.parameters(), *relu.buffers()]
relu_ignores_mode = relu_stateless and torch.equal(relu.train()(X), relu.eval()(X))


class FunctionalDropout(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5)  # training defaults to True, whatever the module's mode


class ModeFollowingDropout(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5, training=self.training)


class ChildDropout(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(p=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x)


class ListDropout(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drops = [nn.Dropout(p=0.5)]  # a plain list: not a child, so eval() misses it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drops[0](x)


ones = torch.ones(1000, device=device)
drops = {}  # does it zero some of the ones in training mode, and after eval()?
for dropout in (FunctionalDropout(), ModeFollowingDropout(), ChildDropout(), ListDropout()):
    outputs = dropout.train()(ones), dropout.eval()(ones)
    drops[type(dropout).__name__] = tuple(bool((out == 0).any()) for out in outputs)
print("dropout (train, eval):", drops)
child_dropout, list_dropout = ChildDropout().eval(), ListDropout().eval()
child_in_eval, listed_in_eval = not child_dropout.drop.training, not list_dropout.drops[0].training
print(f"in eval mode after eval(): the child {child_in_eval}, the listed one {listed_in_eval}")

# nn.Module.__init__ creates the registries that assignment fills (internal attributes):
# an MLP object whose __init__ has not run yet lacks them, and nn.Module.__init__ adds them.
registries = {"_parameters", "_buffers", "_modules"}
bare = MLP.__new__(MLP)
before_init = sorted(registries & vars(bare).keys())
nn.Module.__init__(bare)
after_init = sorted(registries & vars(bare).keys())
print("registries before nn.Module.__init__:", before_init, " after:", after_init)


# Forgetting super().__init__() fails at the first module assignment.
class Forgetful(nn.Module):
    def __init__(self) -> None:
        self.hidden = nn.Linear(8, 32)


try:
    Forgetful()
except AttributeError as error:
    message = str(error)
    print(f"{type(error).__name__}: {error}")

assert output_shape == (2, 4)
assert names == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
assert child_names == ["hidden", "output"]  # witness: children-by-attribute
assert not relu_in_printout  # witness: relu-not-printed
assert act_printed  # witness: module-printed
assert act_hook_runs == 1 and act_calls == [nn.ReLU]  # witness: hook-reaches-module
assert act_replaced and uses_tanh and act_hook_runs == len(act_calls)  # witness: module-replaced
assert (before_init, after_init) == ([], sorted(registries))  # witness: init-creates-registries
assert relu_ignores_mode  # witness: relu-ignores-mode
drops_expected = {
    "FunctionalDropout": (True, True),
    "ModeFollowingDropout": (True, False),
    "ChildDropout": (True, False),
    "ListDropout": (True, True),
}
modes_as_expected = drops == drops_expected
assert child_in_eval and not listed_in_eval and modes_as_expected  # witness: dropout-needs-module
assert parameter_count == 420
assert message.startswith("cannot assign module before Module.__init__() call")

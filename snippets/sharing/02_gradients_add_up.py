"""The shared weight's .grad is the sum of what each use would get as a separate layer."""

import copy
import warnings
from collections import Counter

import torch
from torch import nn

# On a GPU when there is one; the comparisons below allow for its rounding.
device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class CalledTwice(nn.Module):
    """The same function again, with the shared layer registered once and called twice."""

    def __init__(self, first: nn.Module, shared: nn.Module, last: nn.Module) -> None:
        super().__init__()
        self.first, self.shared, self.last = first, shared, last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.first(x))
        x = torch.relu(self.shared(x))  # first use
        x = torch.relu(self.shared(x))  # second use of the same weight
        return self.last(x)


class DirectUse(nn.Module):
    """A layer called once, and its weight read again directly in forward."""

    def __init__(self, shared: nn.Module) -> None:
        super().__init__()
        self.shared = shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(x) @ self.shared.weight.T  # the second use calls no module


torch.manual_seed(0)
shared = nn.Linear(8, 8)
tied = nn.Sequential(
    nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
)
# The same function built from separate layers: index 4 gets its own copy of the shared layer.
untied = nn.Sequential(*[copy.deepcopy(layer) for layer in tied])
called_twice = CalledTwice(*copy.deepcopy([tied[0], tied[2], tied[6]]))
for model in (tied, untied, called_twice):
    model.to(device)

X = torch.randn(16, 4).to(device)
writes = []  # one entry each time autograd writes into tied[2].weight.grad
tied[2].weight.register_post_accumulate_grad_hook(lambda p: writes.append(1))
same_output = torch.allclose(tied(X), untied(X)) and torch.allclose(called_twice(X), untied(X))
for model in (tied, untied, called_twice):
    model(X).pow(2).mean().backward()

grad_sum = untied[2].weight.grad + untied[4].weight.grad
grads_add_up = torch.allclose(tied[2].weight.grad, grad_sum, atol=1e-6) and len(writes) == 1
uses_differ = not torch.allclose(untied[2].weight.grad, untied[4].weight.grad)
print("same outputs before training:", same_output)
print("tied .grad == grad of the first use + grad of the second use, in one write:", grads_add_up)
print("the two uses contribute different amounts:", uses_differ)

# Registered once, called twice: one name, and still the summed gradient.
every_name = list(called_twice.named_parameters(remove_duplicate=False))
called_twice_names = [name for name, _ in every_name]
called_twice_tensors = {id(parameter) for _, parameter in every_name}  # distinct tensor objects
called_twice_sums = torch.allclose(called_twice.shared.weight.grad, grad_sum, atol=1e-6)
print("CalledTwice, every name:", called_twice_names)
every_module = [name for name, _ in called_twice.named_modules(remove_duplicate=False)]
state_keys = list(called_twice.state_dict())
print("CalledTwice, every module:", every_module, " state_dict keys:", len(state_keys))
print("CalledTwice: shared.weight.grad == the same sum:", called_twice_sums)
# No listing shows the second call, but a forward hook that counts calls does.
calls: Counter[str] = Counter()
for name, module in called_twice.named_children():
    module.register_forward_hook(lambda module, args, output, name=name: calls.update([name]))
called_twice(X)
print("CalledTwice: calls per child in one forward pass:", dict(calls))
# A weight read directly in forward is a use that no module hook sees; a trace lists it.
direct, direct_calls = DirectUse(nn.Linear(4, 4)).to(device), Counter()
direct.shared.register_forward_hook(lambda module, args, output: direct_calls.update(["shared"]))
direct(X)
graph = torch.fx.symbolic_trace(direct).graph
traced = [node.target for node in graph.nodes if node.op in ("call_module", "get_attr")]
print("DirectUse: calls per child:", dict(direct_calls), " the trace uses:", traced)
hook_sees_one_use = direct_calls == {"shared": 1}
direct.shared.forward(X)  # calling forward() itself skips the hooks
forward_unseen = direct_calls == {"shared": 1}
print("after direct.shared.forward(X) as well:", dict(direct_calls))

# One plain gradient step on each model.
tied_before = tied[2].weight.detach().clone()
for model in (tied, untied):
    torch.optim.SGD(model.parameters(), lr=0.1).step()
copies_apart = not torch.allclose(untied[2].weight, untied[4].weight)
one_step_along_sum = torch.allclose(tied[2].weight, tied_before - 0.1 * grad_sum, atol=1e-6)
outputs_differ = not torch.allclose(tied(X), untied(X))
print(
    "after one step: untied copies apart:",
    copies_apart,
    " tied weight moved by lr * grad_sum:",
    one_step_along_sum,
    " outputs differ:",
    outputs_differ,
)
# Given every name instead of parameters(), SGD only warns, and its loop steps the weight twice.
every_parameter = [p for _, p in tied.named_parameters(remove_duplicate=False)]
before_duplicates = tied[2].weight.detach().clone()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    torch.optim.SGD(every_parameter, lr=0.1, foreach=False).step()
twice = before_duplicates - 2 * 0.1 * tied[2].weight.grad
stepped_twice = torch.allclose(tied[2].weight, twice, atol=1e-6)
warned = [str(w.message) for w in caught]
duplicate_warning = any("duplicate parameters" in message for message in warned)
print("SGD given every name: warns of duplicates", duplicate_warning, " steps twice", stepped_twice)

assert untied[2] is not untied[4]
assert same_output  # witness: same-output
assert uses_differ  # witness: uses-differ
assert grads_add_up  # witness: grads-add-up
# Even remove_duplicate=False finds nothing to remove: six names for six distinct tensors.
assert len(called_twice_tensors) == len(called_twice_names) == 6  # witness: registered-once
one_entry_each = every_module == ["", "first", "shared", "last"] and len(state_keys) == 6
assert one_entry_each  # witness: listings-once
# The same test tells the tied stack apart: its eight names lead to six tensors.
assert len({id(p) for _, p in tied.named_parameters(remove_duplicate=False)}) == 6
assert called_twice_sums  # witness: called-twice-grads-add-up
assert calls == {"first": 1, "shared": 2, "last": 1}  # witness: hook-counts-calls
assert hook_sees_one_use and traced == ["shared", "shared.weight"]  # witness: direct-use
assert forward_unseen  # witness: forward-skips-hooks
assert copies_apart  # witness: copies-apart
assert one_step_along_sum  # witness: one-step-along-sum
assert outputs_differ  # witness: outputs-differ
assert duplicate_warning and stepped_twice  # witness: duplicates-stepped-twice

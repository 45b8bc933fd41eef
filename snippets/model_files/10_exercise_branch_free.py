"""Exercise: rewrite a branch on tensor values so that torch.export accepts it."""
# guide: timeout=60

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class ValueGate(nn.Module):  # the original: refused by torch.export
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return x


class WhereGate(nn.Module):  # both results computed, one chosen by a tensor condition
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x.sum() > 0, x * 2, x)


class CondGate(nn.Module):  # both branches stored in the program, one of them run per call
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # With autograd on, a branch may not return its input itself: the second returns a copy.
        return torch.cond(x.sum() > 0, lambda x: x * 2, lambda x: x.clone(), (x,))


torch.manual_seed(0)
example = torch.randn(2, 4).to(device)
positive, negative = torch.ones(2, 4).to(device), -torch.ones(2, 4).to(device)
agrees = {}
for gate in (WhereGate(), CondGate()):
    exported = torch.export.export(gate, (example,))
    ops = [str(node.target) for node in exported.graph.nodes if node.op == "call_function"]
    program = exported.module()
    for name, x in (("positive", positive), ("negative", negative)):
        agrees[type(gate).__name__, name] = torch.equal(program(x), ValueGate()(x))
    print(f"{type(gate).__name__}: {ops}")
print("agrees with the original:", agrees)
cond_ops = ops
branches = {  # the cond operation's two branches: graphs of their own inside the program
    name: [str(node.target) for node in branch.graph.nodes if node.op == "call_function"]
    for name, branch in exported.graph_module.named_children()
}
print("CondGate's branches:", branches)
runs = []  # the branch graphs that one call of CondGate's program runs
for name in branches:
    getattr(program, name).register_forward_hook(lambda *_, name=name: runs.append(name))
runs_per_call = {}
for name, x in (("positive", positive), ("negative", negative)):
    runs.clear()
    program(x)
    runs_per_call[name] = list(runs)
print("branches run per call:", runs_per_call)


class AliasGate(nn.Module):  # CondGate with `x` instead of `x.clone()` in the second branch
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cond(x.sum() > 0, lambda x: x * 2, lambda x: x, (x,))


try:
    torch.export.export(AliasGate(), (example,))
    alias_result = "exported"
except RuntimeError as error:
    alias_result = next(line for line in str(error).splitlines() if "aliasing" in line)
print("a branch returning its input:", alias_result)
try:  # torch.cond's own rule, with autograd on: the model refuses it run as it is, without export
    AliasGate()(example)
    eager_alias_result = "ran"
except RuntimeError as error:
    eager_alias_result = next(line for line in str(error).splitlines() if "aliasing" in line)
print("  run without export:", eager_alias_result)

assert all(agrees.values())  # witness: both-agree
assert cond_ops.count("cond") == 1 and branches == {  # witness: cond-in-graph
    "true_graph_0": ["aten.mul.Tensor"],
    "false_graph_0": ["aten.clone.default"],
}
grad_on = torch.is_grad_enabled()  # the rule holds where autograd records, as here
refused_both_ways = grad_on and "aliasing" in alias_result and "aliasing" in eager_alias_result
assert refused_both_ways  # witness: branch-must-not-alias
one_per_call = {"positive": ["true_graph_0"], "negative": ["false_graph_0"]}
assert runs_per_call == one_per_call  # witness: cond-runs-one

"""torch.export: a program that runs without the Python class that produced it."""
# guide: timeout=60

import copy
import io
import subprocess
import sys
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# A fresh Python process, where no class Net was ever defined, loads the program and runs it.
FRESH_PROCESS = """
import io, sys, torch
program = torch.export.load(io.BytesIO(sys.stdin.buffer.read())).module()
print(tuple(program(torch.randn(2, 4, device=sys.argv[1])).shape))
"""


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


torch.manual_seed(0)
model = Net().to(device).eval()
x = torch.randn(2, 4).to(device)
with torch.no_grad():
    expected = model(x)

exported = torch.export.export(model, (x,))  # traces a call of model, records ATen operations
operations = [str(node.target) for node in exported.graph.nodes if node.op == "call_function"]
print("operations:", operations)
print("weights:", list(exported.state_dict))
model_keys = model.state_dict().keys()

file = io.BytesIO()
torch.export.save(exported, file)  # the graph and the weights, in one archive

del Net, model  # the class is gone: nothing named Net can be imported or looked up any more
file.seek(0)
loaded = torch.export.load(file)
fresh = subprocess.run(
    [sys.executable, "-c", FRESH_PROCESS, str(device)],
    input=file.getvalue(),
    capture_output=True,
    check=True,
)
fresh_result = fresh.stdout.decode().strip()
print("in a fresh process, with no Net: an output of shape", fresh_result)
runnable = loaded.module()  # an nn.Module built from the stored graph
with torch.no_grad():
    output = runnable(x)
same_outputs = torch.allclose(output, expected)
is_graph_module = isinstance(runnable, torch.fx.GraphModule)
print("loaded: a GraphModule:", is_graph_module, "| same outputs:", same_outputs)


def switch(module: nn.Module, mode: str) -> str:
    try:
        getattr(module, mode)()  # eval() or train()
        return "switched"
    except NotImplementedError as error:
        return f"NotImplementedError: {error}"


# The module that .module() returns cannot switch modes, loaded or not: call model.eval() before
# exporting. Nor can a model that contains it, since eval() and train() reach every submodule.
switches = {}
print("NotImplementedError, from eval() | from train():")
for name, module in (
    ("loaded.module()", runnable),
    ("exported.module()", exported.module()),  # never saved nor loaded
    ("nn.Sequential(exported.module())", nn.Sequential(exported.module())),
):
    switches[name] = {mode: switch(module, mode) for mode in ("eval", "train")}
    messages = [r.removeprefix("NotImplementedError: ") for r in switches[name].values()]
    print(f"  {name}:", " | ".join(messages))
partway = nn.Sequential(nn.Dropout(), exported.module())  # a layer before the exported one
switch(partway, "eval")  # raises at the exported module, after the modules before it switched
switched_before = not partway.training and not partway[0].training and partway[1].training
# A container's eval() calls train(False), so the error it passes on names train().
container_names_train = "train()" in switches["nn.Sequential(exported.module())"]["eval"]

# What each layer does in the mode is in the graph, as constant arguments: Dropout's `train`,
# and BatchNorm's `training`, which means "normalise with the batch's statistics".
layers = nn.Sequential(
    nn.Linear(4, 8),
    nn.BatchNorm1d(8),
    nn.BatchNorm1d(8, track_running_stats=False),  # no running statistics to use in eval()
    nn.Dropout(0.5),
)
flag_argument = {"aten.batch_norm.default": 5, "aten.dropout.default": 2}
mode_flags, training_flags, programs = {}, {"loaded": runnable.training}, {}
for mode in ("train", "eval"):
    program = programs[mode] = torch.export.export(getattr(layers, mode)(), (torch.randn(2, 4),))
    mode_flags[mode] = {
        node.name: node.args[flag_argument[str(node.target)]]
        for node in program.graph.nodes
        if str(node.target) in flag_argument
    }
    print(f"flags in the graph, exported in {mode} mode:", mode_flags[mode])
    training_flags[f"exported in {mode} mode"] = program.module().training  # not the graph's mode
print("training attribute of the module() built from a program:", training_flags)
# The refusal belongs to the object module() returns: a deepcopy of it switches, to no effect.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # torch's own pytree code warns while copying
    copied = copy.deepcopy(programs["train"].module())
copy_switched = switch(copied, "eval") == "switched" and not copied.training
probe = torch.randn(2, 4)  # two different rows: training-mode batch norm leaves them nonzero
copy_still_drops = not torch.equal(copied(probe), copied(probe))  # a new dropout mask each call
print(
    "a deepcopy of it: eval() switched it:",
    copy_switched,
    "| Dropout still drops:",
    copy_still_drops,
)

# Export traces a call of the model, as model(x) runs it: a forward pre-hook too, not forward alone.
hooked = nn.Linear(4, 3).to(device).eval()
hooked.register_forward_pre_hook(lambda module, args: (2 * args[0],))  # doubles the input
hooked_program = torch.export.export(hooked, (x,)).module()
with torch.no_grad():
    hooked_output = hooked_program(x)
    hook_in_program = torch.allclose(hooked_output, hooked(x))
    forward_alone = torch.allclose(hooked_output, hooked.forward(x))
print("a pre-hook that doubles the input, in the program:", hook_in_program and not forward_alone)

assert operations == [  # witness: three-operations
    "aten.linear.default",
    "aten.relu.default",
    "aten.linear.default",
]
assert list(exported.state_dict) == list(model_keys)  # witness: weights-by-name
assert fresh_result == "(2, 3)" and is_graph_module  # witness: no-class
assert same_outputs  # witness: same-outputs
refused = {
    name: all(r.startswith("NotImplementedError") for r in modes.values())
    for name, modes in switches.items()
}
own_module = ("loaded.module()", "exported.module()")
assert all(  # witness: modes-refused
    refused[name] and all(f"{mode}()" in r for mode, r in switches[name].items())
    for name in own_module
)
container_refused = refused["nn.Sequential(exported.module())"] and switched_before
assert container_refused and container_names_train  # witness: container-refused
assert all(training_flags.values())  # witness: training-reads-true
assert copy_switched and copy_still_drops  # witness: deepcopy-switches-in-name-only
assert hook_in_program and not forward_alone  # witness: export-runs-hooks
assert mode_flags == {  # witness: mode-in-graph
    "train": {"batch_norm": True, "batch_norm_1": True, "dropout": True},
    "eval": {"batch_norm": False, "batch_norm_1": True, "dropout": False},
}

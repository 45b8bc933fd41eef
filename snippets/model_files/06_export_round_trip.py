"""torch.export: a program that runs without the Python class that produced it."""
# guide: timeout=60

import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


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

exported = torch.export.export(model, (x,))  # traces forward, records ATen operations
operations = [str(node.target) for node in exported.graph.nodes if node.op == "call_function"]
print("operations:", operations)
print("weights:", list(exported.state_dict))
model_keys = model.state_dict().keys()

file = io.BytesIO()
torch.export.save(exported, file)  # the graph and the weights, in one archive

del Net, model  # the class is gone: nothing named Net can be imported or looked up any more
file.seek(0)
loaded = torch.export.load(file)
runnable = loaded.module()  # an nn.Module built from the stored graph
with torch.no_grad():
    output = runnable(x)
same_outputs = torch.allclose(output, expected)
is_graph_module = isinstance(runnable, torch.fx.GraphModule)
print("loaded: a GraphModule:", is_graph_module, "| same outputs:", same_outputs)

try:  # the loaded module cannot switch modes: call model.eval() before exporting
    runnable.eval()
    eval_result = "switched"
except NotImplementedError as error:
    eval_result = f"NotImplementedError: {error}"
print("loaded.module().eval():", eval_result)

assert operations == [  # witness: three-operations
    "aten.linear.default",
    "aten.relu.default",
    "aten.linear.default",
]
assert list(exported.state_dict) == list(model_keys)  # witness: weights-by-name
assert "Net" not in globals() and is_graph_module  # witness: no-class
assert same_outputs  # witness: same-outputs
assert eval_result.startswith("NotImplementedError") and "eval()" in eval_result  # witness: no-eval

"""torch.export refuses Python control flow that depends on the values in a tensor."""
# guide: timeout=60

import contextlib
import io
import logging

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class ValueGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # needs the numbers in x: a different answer for every input
            return x * 2
        return x


class SizeGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:  # needs only the size of x, which export knows
            return x * 2
        return x


torch.manual_seed(0)
x = torch.randn(2, 4).to(device)
torch._logging.set_logs(dynamic=logging.ERROR)  # silence a warning logged on the way to the error
with contextlib.redirect_stderr(io.StringIO()):  # export also prints the graph traced so far
    try:
        torch.export.export(ValueGate(), (x,))
        error_message = "exported"
    except RuntimeError as error:
        error_message = str(error).splitlines()[0]
print("branch on values:", error_message)

size_program = torch.export.export(SizeGate(), (x,))
operations = [str(node.target) for node in size_program.graph.nodes if node.op == "call_function"]
print("branch on the size: exported, with the operations", operations)

assert error_message.startswith("Could not guard on data-dependent expression")  # witness: refused
assert operations == ["aten.mul.Tensor"]  # witness: size-branch-resolved

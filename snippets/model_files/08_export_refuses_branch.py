"""torch.export and Python branches: on a fixed size, on a dynamic size, on tensor values."""
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
    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.threshold:  # needs only the size of x
            return x * 2
        return x


def operations(program: torch.export.ExportedProgram) -> list[str]:
    return [str(node.target) for node in program.graph.nodes if node.op == "call_function"]


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

# A fixed size: export knows it, takes the branch and records only that one.
size_program = torch.export.export(SizeGate(1), (x,))
print("branch on a fixed size: exported, with the operations", operations(size_program))

# A dynamic size: the branch would hold for some batches and not others.
batch = torch.export.Dim("batch")
example = torch.randn(4, 4).to(device)
try:
    torch.export.export(SizeGate(3), (example,), dynamic_shapes=({0: batch},))
    constraint_error = "exported"
except RuntimeError as error:  # torch._dynamo.exc.UserError, a RuntimeError
    constraint_error = str(error).splitlines()[0]
print("x.shape[0] > 3, dynamic batch:", constraint_error)

# Compared with 1, the same branch exports: tracing takes a dynamic size to be at least 2,
# so the test is decided there, and a batch of 1 runs the branch traced.
silent = torch.export.export(SizeGate(1), (example,), dynamic_shapes=({0: batch},))
one_row = torch.randn(1, 4).to(device)
baked_in = silent.module()(one_row)
print("x.shape[0] > 1, dynamic batch: exported, with the operations", operations(silent))
doubled = torch.equal(baked_in, one_row * 2)
print("batch of 1: the model returns x, the program returns", "2 * x" if doubled else "x")

assert error_message.startswith("Could not guard on data-dependent expression")  # witness: refused
assert operations(size_program) == ["aten.mul.Tensor"]  # witness: size-branch-resolved
assert constraint_error.startswith("Constraints violated (batch)")  # witness: dynamic-size-refused
assert (  # witness: zero-one-baked-in
    operations(silent) == ["aten.mul.Tensor"]
    and torch.equal(baked_in, one_row * 2)
    and torch.equal(SizeGate(1)(one_row), one_row)
)

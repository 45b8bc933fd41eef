"""torch.export and Python branches: on a fixed size, on a dynamic size, on tensor values."""
# guide: timeout=60

import contextlib
import io
import logging
import operator
import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class ValueGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # needs the numbers in x, which export traces without
            return x * 2
        return x


class BufferGate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(2.0))  # a constant: the same at every call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale > 1:  # needs the number in the buffer, which export traces without
            return x * self.scale
        return x


class ParamGate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight > 1:  # a parameter: traced without its number, like a buffer
            return x * self.weight
        return x


class LiteralGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.tensor(2.0) > 1:  # one number, written in forward: non-strict export keeps it
            return x * 2
        return x


class ComputedGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.as_tensor(2.0) * 1 > 1:  # computed from a kept number alone: kept too
            return x * 2
        return x


class LiteralPairGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.tensor([2.0, 3.0]).sum() > 1:  # two numbers: export keeps neither
            return x * 2
        return x


class FullGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.full((), 2.0) > 1:  # one number, but made by full(), not tensor(): not kept
            return x * 2
        return x


class DrawnGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.bernoulli(torch.tensor(0.5)) >= 0:  # true for every draw, but drawn: not kept
            return x * 2
        return x


class ExpGate(nn.Module):  # the control: a deterministic operation on the same kind of literal
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.exp(torch.tensor(0.5)) >= 0:  # computed from a kept number alone: kept
            return x * 2
        return x


class SizeGate(nn.Module):
    def __init__(self, threshold: int, compare=operator.gt) -> None:
        super().__init__()
        self.threshold, self.compare = threshold, compare

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compare(x.shape[0], self.threshold):  # needs only the size of x
            return x * 2
        return x


class CondSizeGate(nn.Module):  # the branch as an operation of the graph
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cond(x.shape[0] > 1, lambda x: x * 2, lambda x: x.clone(), (x,))


class BoolWhereGate(nn.Module):  # where() given the comparison of sizes itself
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x.shape[0] > 1, x * 2, x)


class WhereSizeGate(nn.Module):  # where() wants a tensor condition: the size made one first
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = torch.tensor(x.shape[0], device=x.device)
        return torch.where(size > 1, x * 2, x)


def operations(program: torch.export.ExportedProgram) -> list[str]:
    return [str(node.target) for node in program.graph.nodes if node.op == "call_function"]


def torch_log_handlers() -> list[logging.StreamHandler]:
    """The handlers through which torch's loggers print: each keeps the stream it was made with
    (in a notebook, the kernel's), so redirecting sys.stderr would not reach them."""
    loggers = [logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)]
    torch_loggers = [logger for logger in loggers if logger.name.split(".")[0] == "torch"]
    handlers = [h for lg in torch_loggers for h in lg.handlers if type(h) is logging.StreamHandler]
    return list(dict.fromkeys(handlers))  # one handler may serve several loggers


def export_and_words(
    model: nn.Module, example: torch.Tensor, programs: list | None = None, **options
) -> tuple[str, str]:
    """The word "exported", or the first line of the error export raised (a RuntimeError, as
    torch._dynamo.exc.UserError is), and all that export printed through torch's log handlers,
    wrote to sys.stderr or warned. The program exported, if any, goes into `programs`."""
    words = io.StringIO()
    handlers = torch_log_handlers()
    streams = [handler.setStream(words) for handler in handlers]
    with contextlib.redirect_stderr(words), warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            program = torch.export.export(model, (example,), **options)
            result = "exported"
            if programs is not None:
                programs.append(program)
        except RuntimeError as error:
            result = str(error).splitlines()[0]
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)
    return result, words.getvalue() + "".join(f"{w.category.__name__}: {w.message}" for w in warned)


def export_result(model: nn.Module, example: torch.Tensor, **options) -> str:
    """The word "exported", or the first line of the error that export raised (export also prints
    the graph traced so far: kept out of the output)."""
    return export_and_words(model, example, **options)[0]


torch.manual_seed(0)
x = torch.randn(2, 4).to(device)
batch = torch.export.Dim("batch")
example = torch.randn(4, 4).to(device)
# Before anything is silenced: the size tests that export decides on its own (below), and, to
# show that the capture hears export, the branch on values, which writes a warning.
tests = {">= 2": (operator.ge, 2), "!= 1": (operator.ne, 1), "== 1": (operator.eq, 1)}
tests |= {"> 2": (operator.gt, 2), "< 100": (operator.lt, 100)}
outcomes, words = {}, {}
for test, (compare, n) in tests.items():
    gate = SizeGate(n, compare)
    outcomes[test], words[test] = export_and_words(gate, example, dynamic_shapes=({0: batch},))
words["> 1"] = export_and_words(SizeGate(1), example, dynamic_shapes=({0: batch},))[1]
value_words = export_and_words(ValueGate(), x)[1]
torch._logging.set_logs(dynamic=logging.ERROR)  # silence a warning logged on the way to the error
error_message, silenced_words = export_and_words(ValueGate(), x)
torch._logging.set_logs()  # back to torch's default levels
print("branch on values:", error_message)
buffer_message = export_result(BufferGate().to(device), x)  # a constant, but a tensor
print("branch on a buffer:", buffer_message)
param_message = export_result(ParamGate().to(device), x)
print("branch on a parameter:", param_message.split(" (")[0])
literal_program = torch.export.export(LiteralGate(), (x,))  # the branch is decided while tracing
print("branch on a tensor made in forward: exported, with", operations(literal_program)[-1])
computed_program = torch.export.export(ComputedGate(), (x,))
print("branch on as_tensor(2.0) * 1: exported, with", operations(computed_program)[-1])
exp_result = export_result(ExpGate(), x)
print("branch on exp(tensor(0.5)) >= 0:", exp_result)
literal_refusals = {
    "tensor([2.0, 3.0]).sum() > 1": export_result(LiteralPairGate(), x),
    "full((), 2.0) > 1": export_result(FullGate(), x),
    "bernoulli(tensor(0.5)) >= 0": export_result(DrawnGate(), x),
    "tensor(2.0) > 1, strict=True": export_result(LiteralGate(), x, strict=True),
}
for test, outcome in literal_refusals.items():
    print(f"branch on {test}:", outcome.split(" (")[0])

# A fixed size: export knows it, takes the branch and records only that one.
size_program = torch.export.export(SizeGate(1), (x,))
print("branch on a fixed size: exported, with the operations", operations(size_program))

# A dynamic size: the branch would hold for some batches and not others.
constraint_error = export_result(SizeGate(3), example, dynamic_shapes=({0: batch},))
print("x.shape[0] > 3, dynamic batch:", constraint_error)
# Dim.AUTO asks for no particular range: export narrows it to the sizes of the branch it traced.
auto_programs = []
auto_options = {"dynamic_shapes": ({0: torch.export.Dim.AUTO},)}
auto_result, auto_words = export_and_words(SizeGate(3), example, auto_programs, **auto_options)
auto_program = auto_programs[0]
auto_lowest = min(int(sizes.lower) for sizes in auto_program.range_constraints.values())
try:
    auto_program.module()(torch.randn(2, 4).to(device))
    auto_batch_of_2 = "ran"
except AssertionError as error:  # the program checks its input's size
    auto_batch_of_2 = f"AssertionError: {error}"
print(f"the same with Dim.AUTO: {auto_result}, saying {auto_words!r}, for batches from", end=" ")
print(f"{auto_lowest} up; a batch of 2: {auto_batch_of_2}")

# Compared with 1, the same branch exports: tracing takes a dynamic size to be at least 2,
# so the test is decided there, and a batch of 1 runs the branch traced.
silent = torch.export.export(SizeGate(1), (example,), dynamic_shapes=({0: batch},))
one_row = torch.randn(1, 4).to(device)
baked_in = silent.module()(one_row)
print("x.shape[0] > 1, dynamic batch: exported, with the operations", operations(silent))
doubled = torch.equal(baked_in, one_row * 2)
print("batch of 1: the model returns x, the program returns", "2 * x" if doubled else "x")
batch_from_1 = torch.export.Dim("batch", min=1)  # declares a batch of 1: still not checked
from_1 = torch.export.export(SizeGate(1), (example,), dynamic_shapes=({0: batch_from_1},))
from_1_lowest = min(int(r.lower) for r in from_1.range_constraints.values())
from_1_doubled = torch.equal(from_1.module()(one_row), one_row * 2)
print(f"with Dim(min={from_1_lowest}), a batch of 1: the program returns", end=" ")
print("2 * x" if from_1_doubled else "x")

# The rule: a test with one answer for every size from 2 up is decided without a word.
for test, outcome in outcomes.items():
    print(f"x.shape[0] {test}, dynamic batch:", outcome.split("!")[0])
decided = [">= 2", "!= 1", "== 1", "> 1"]
print("before set_logs, what export wrote or warned for", decided, [words[t] for t in decided])


def dynamic_warning(words: str) -> bool:  # a WARNING line of the dynamic logger (symbolic_shapes)
    lines = words.splitlines()
    return any(line.startswith("W") and "symbolic_shapes.py" in line for line in lines)


print("the branch on values: a warning of the dynamic logger before set_logs, after:", end=" ")
print(dynamic_warning(value_words), dynamic_warning(silenced_words))

# The branch written as an operation agrees with the model for every batch, 1 included.
size_ops, size_agrees = {}, {}
for gate in (CondSizeGate(), WhereSizeGate()):
    program = torch.export.export(gate, (example,), dynamic_shapes=({0: batch},))
    size_ops[type(gate).__name__] = operations(program)
    agrees = [torch.equal(program.module()(b), SizeGate(1)(b)) for b in (one_row, example)]
    size_agrees[type(gate).__name__] = all(agrees)
print("rewritten, dynamic batch: agrees with the model at batches 1 and 4:", size_agrees)
try:  # while export traces with the Dim, a size compared with a number is a SymBool
    torch.export.export(BoolWhereGate(), (example,), dynamic_shapes=({0: batch},))
    where_on_bool = "exported"
except TypeError as error:
    where_on_bool = f"TypeError: {error}"
print("torch.where(x.shape[0] > 1, ...), dynamic batch:", where_on_bool.split(", but")[0])
with warnings.catch_warnings(record=True) as cond_warned:  # a fixed size: a Python bool
    warnings.simplefilter("always")
    fixed_cond = torch.export.export(CondSizeGate(), (x,))
cond_warnings = [str(w.message) for w in cond_warned if "Python constant" in str(w.message)]
print("torch.cond(x.shape[0] > 1, ...), fixed size:", operations(fixed_cond), end=" ")
print("| warns:", cond_warnings[0].split(".")[0] if cond_warnings else None)

assert error_message.startswith("Could not guard on data-dependent expression")  # witness: refused
assert buffer_message.startswith("Could not guard on data-dependent")  # witness: buffer-refused
traced_without = [error_message, buffer_message, param_message]
refused_alike = all(m.startswith("Could not guard on data-dependent") for m in traced_without)
assert refused_alike  # witness: refused-alike
assert (  # witness: literal-exports
    operations(literal_program)[-1] == "aten.mul.Tensor"
    and operations(computed_program)[-1] == "aten.mul.Tensor"
)
not_kept = ["tensor([2.0, 3.0]).sum() > 1", "full((), 2.0) > 1"]
assert (  # witness: literal-limits
    all(literal_refusals[test].startswith("Could not guard on data-dependent") for test in not_kept)
    and literal_refusals["tensor(2.0) > 1, strict=True"].startswith("Data-dependent branching")
)
drawn_refused = literal_refusals["bernoulli(tensor(0.5)) >= 0"].startswith("Could not guard on")
assert drawn_refused and exp_result == "exported"  # witness: random-not-kept
assert operations(size_program) == ["aten.mul.Tensor"]  # witness: size-branch-resolved
assert constraint_error.startswith("Constraints violated (batch)")  # witness: dynamic-size-refused
narrowed_to_4 = auto_result == "exported" and auto_words == "" and auto_lowest == 4
narrowed_to_4 &= (
    auto_batch_of_2.startswith("AssertionError: Guard failed") and ">= 4" in auto_batch_of_2
)
assert narrowed_to_4  # witness: auto-narrows
heard_then_silenced = dynamic_warning(value_words) and not dynamic_warning(silenced_words)
assert heard_then_silenced  # witness: capture-hears-export
assert (  # witness: zero-one-baked-in
    words["> 1"] == ""
    and operations(silent) == ["aten.mul.Tensor"]
    and torch.equal(baked_in, one_row * 2)
    and torch.equal(SizeGate(1)(one_row), one_row)
)
assert from_1_lowest == 1 and from_1_doubled  # witness: min-one-baked-in
exported_quietly = all(outcomes[t] == "exported" and not words[t] for t in (">= 2", "!= 1", "== 1"))
refused = all(outcomes[t].startswith("Constraints violated (batch)") for t in ("> 2", "< 100"))
assert exported_quietly and refused  # witness: decided-from-two
assert (  # witness: size-branch-rewritten
    "cond" in size_ops["CondSizeGate"]
    and "aten.where.self" in size_ops["WhereSizeGate"]
    and all(size_agrees.values())
)
assert (  # witness: where-needs-tensor
    where_on_bool.startswith("TypeError")
    and "got (SymBool," in where_on_bool
    and "(Tensor condition" in where_on_bool
)
cond_fixed_ops = operations(fixed_cond)
assert cond_fixed_ops == ["aten.mul.Tensor"] and cond_warnings  # witness: cond-on-python-bool

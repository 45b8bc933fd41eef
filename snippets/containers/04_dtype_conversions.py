"""What .to(dtype), .double(), .half() and .type(dtype) convert, and the complex-to-real warning."""
# guide: timeout=30

import json
import subprocess
import sys
import warnings

import torch
from torch import nn

# .to(dtype), .double() and .half() skip integer and bool tensors, and differ on complex ones.
# Module.type(dtype) converts every parameter and buffer. None of them reaches a plain tensor.
conversions = {
    "double": nn.Module.double,
    "half": nn.Module.half,
    "to": lambda module: module.to(torch.float64),
    "type": lambda module: module.type(torch.float64),
}
kinds = ("steps", "flag", "index", "scale", "mean", "z", "plain")
print("dtypes after each conversion")
print("(before: int64, bool, int64, float32, float32, complex64, float32):")
print(f"{'':>7}" + "".join(f"{kind:>10}" for kind in kinds))
converted = {}
for how, convert in conversions.items():
    holder = nn.Module()
    holder.register_buffer("steps", torch.zeros((), dtype=torch.int64))
    holder.register_buffer("flag", torch.zeros((), dtype=torch.bool))
    holder.index = nn.Parameter(torch.arange(3), requires_grad=False)  # an integer parameter
    holder.scale = nn.Parameter(torch.ones(()))
    holder.register_buffer("mean", torch.zeros(()))
    holder.register_buffer("z", torch.zeros((), dtype=torch.complex64))
    holder.plain = torch.zeros(())  # not registered
    with warnings.catch_warnings():  # the complex-to-real warning is counted below
        warnings.simplefilter("ignore")
        convert(holder)
    converted[how] = [str(getattr(holder, kind).dtype).removeprefix("torch.") for kind in kinds]
    print(f"{how:>7}" + "".join(f"{dtype:>10}" for dtype in converted[how]))

# A complex-to-real cast warns once per process, and the casts above (or, in a notebook, another
# chapter's) have used that warning up. So the first casts are made in a new process, which prints
# the warnings each step raised.
FIRST_CASTS = """
import json
import warnings

import torch
from torch import nn


def holder():  # a module with a complex buffer
    module = nn.Module()
    module.register_buffer("z", torch.full((), 1 + 2j))
    return module


def raised(*casts):  # the category and message of each warning the casts raise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for cast in casts:
            cast()
    return [(warning.category.__name__, str(warning.message)) for warning in caught]


steps = {}
torch.set_warn_always(True)  # torch warns at every cast, and these casts do not use the warning up
steps["set_warn_always, .to() and .type()"] = raised(
    lambda: holder().to(torch.float64), lambda: holder().type(torch.float64)
)
steps["set_warn_always, a tensor's .float()"] = raised(lambda: torch.full((), 1j).float())
torch.set_warn_always(False)
steps["empty, meta and bool casts"] = raised(
    lambda: torch.zeros(0, dtype=torch.complex64).float(),  # an empty tensor: nothing to drop
    lambda: torch.full((), 1j, device="meta").float(),  # a meta tensor has no values
    lambda: torch.full((), 1j).bool(),  # bool keeps "non-zero" (the imaginary part counts)
)
steps[".double() and .half()"] = raised(lambda: holder().double(), lambda: holder().half())
steps["the first .to(torch.float64)"] = raised(lambda: holder().to(torch.float64))
again = holder()
steps["a second .to(torch.float64)"] = raised(lambda: again.to(torch.float64))
steps["a tensor's .float()"] = raised(lambda: torch.full((), 1j).float())
print(json.dumps({"steps": steps, "again": again.z.item()}))
"""
done = subprocess.run([sys.executable, "-c", FIRST_CASTS], capture_output=True, text=True)
if done.returncode:
    raise RuntimeError(done.stderr)
first_casts = json.loads(done.stdout)
steps, again_value = first_casts["steps"], first_casts["again"]
print("in a new process, the warnings each step raised:")
for step, raised in steps.items():
    print(f"  {step}: {', '.join(category for category, _ in raised) or 'none'}")
forced, forced_tensor, exempt, double_half, first_to, second_to, tensor_after = steps.values()
print("the second .to() turned 1+2j into", again_value)


def complex_holder() -> nn.Module:
    holder = nn.Module()
    holder.register_buffer("z", torch.full((), 1j))
    return holder


# torch.set_warn_always(True) makes torch raise the warning at every cast. Python's own rule for a
# UserWarning ("default") still shows it once per line of code: one line inside
# torch/nn/modules/module.py for these .to() calls, another one for .type().
warn_always_before = torch.is_warn_always_enabled()  # restored after: a notebook runs on
try:
    torch.set_warn_always(True)
    shown = {}
    for action in ("default", "always"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter(action)
            complex_holder().to(torch.float64)
            complex_holder().to(torch.float32)
            complex_holder().to(torch.float16)
            complex_holder().type(torch.float64)  # Module.type's cast warns too
        shown[action] = [(warning.filename, warning.lineno) for warning in caught]
finally:
    torch.set_warn_always(warn_always_before)
print("here, with torch.set_warn_always(True), warnings from three .to() and one .type():", end=" ")
print(", ".join(f"{len(files)} under {action!r}" for action, files in shown.items()))

real_kinds = ["int64", "bool", "int64"]
real_kept = all(converted[how][:3] == real_kinds for how in ("to", "double", "half"))
floats = [converted[how][4] for how in ("to", "double", "half")]
assert real_kept and floats == ["float64", "float64", "float16"]  # witness: int-kept
complex_dtypes = [converted[how][5] for how in ("to", "double", "half")]
assert complex_dtypes == ["float64", "complex64", "complex64"]  # witness: complex-differs
first_warns = not double_half and [category for category, _ in first_to] == ["UserWarning"]
assert first_warns  # witness: complex-to-real-warns
all_forced = len(forced) == 2 and len(forced_tensor) == 1  # every cast warned
assert all_forced and first_warns  # witness: warn-always-keeps-once
assert not exempt and first_to  # witness: complex-cast-exempt
assert again_value == 1.0 and not second_to  # witness: complex-warns-once
tensor_same = [message for _, message in forced_tensor] == [message for _, message in first_to]
assert not tensor_after and tensor_same  # witness: complex-warn-shared
to_lines, type_line = set(shown["always"][:3]), shown["always"][3]
two_lines = len(to_lines) == 1 and type_line not in to_lines and type_line[0].endswith("module.py")
default_shown = shown["default"] == [shown["always"][0], type_line]  # one per line
assert default_shown and two_lines  # witness: complex-warn-always
assert len(shown["always"]) == 4  # witness: type-warns
all_registered = converted["type"][:6] == ["float64"] * 6
assert all_registered and converted["type"][6] == "float32"  # witness: type-converts-all
assert all(converted[how][6] == "float32" for how in conversions)

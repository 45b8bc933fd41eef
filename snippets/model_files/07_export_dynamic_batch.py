"""An exported program fixes every input size, unless a dimension is declared dynamic."""
# guide: timeout=60

import inspect

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device).eval()
example = torch.randn(4, 4).to(device)
batch_of_5, batch_of_16 = torch.randn(5, 4).to(device), torch.randn(16, 4).to(device)

# Exported as it is, the program only takes a batch of 4, the example's size.
fixed_program = torch.export.export(model, (example,))
results = {}
for name, module in (
    ("fixed", fixed_program.module()),
    ("check_guards=False", fixed_program.module(check_guards=False)),  # the older check
):
    try:
        module(batch_of_5)
        results[name] = "ran"
    except (AssertionError, RuntimeError) as error:  # the type and wording vary between releases
        results[name] = f"{type(error).__name__}: {error}"
    print(f"{name} program, batch of 5:", results[name].split(". If")[0])
fixed_result = results["fixed"]
argument_names = list(inspect.signature(model.forward).parameters)  # the guard's `input`
print("the argument of nn.Sequential's forward:", argument_names)

# One entry per argument of forward: dimension 0 of the first argument is a batch of any size.
batch = torch.export.Dim("batch")
dynamic = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
with torch.no_grad():
    outputs = {n: dynamic(x) for n, x in ((5, batch_of_5), (16, batch_of_16))}
    same = all(
        torch.allclose(outputs[n], model(x)) for n, x in ((5, batch_of_5), (16, batch_of_16))
    )
print("dynamic program:", {n: tuple(out.shape) for n, out in outputs.items()}, "same:", same)

assert (  # witness: fixed-batch
    "Guard failed: input.size()[0] == 4" in fixed_result  # torch 2.13
    or "to be equal to 4, but got 5" in fixed_result  # the same check, worded as in older releases
)
release = tuple(int(part) for part in torch.__version__.split(".")[:2])  # "2.13.0a0+git" too
assert release != (2, 13) or fixed_result.startswith(  # witness: guard-failed-on-2-13
    "AssertionError: Guard failed: input.size()[0] == 4"
)
unguarded_error = results["check_guards=False"].startswith(
    "RuntimeError: Expected input at *args[0].shape[0] to be equal to 4, but got 5"
)
assert release != (2, 13) or unguarded_error  # witness: unguarded-runtime-error
assert argument_names == ["input"]  # witness: sequential-names-input
assert tuple(outputs[5].shape) == (5, 3) and tuple(outputs[16].shape) == (16, 3)
assert same  # witness: dynamic-batch

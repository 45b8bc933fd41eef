"""An exported program fixes every input size, unless a dimension is declared dynamic."""
# guide: timeout=60

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device).eval()
example = torch.randn(4, 4).to(device)
batch_of_5, batch_of_16 = torch.randn(5, 4).to(device), torch.randn(16, 4).to(device)

# Exported as it is, the program only takes a batch of 4, the example's size.
fixed_program = torch.export.export(model, (example,)).module()
try:
    fixed_program(batch_of_5)
    fixed_result = "ran"
except AssertionError as error:
    fixed_result = f"AssertionError: {error}"
print("fixed program, batch of 5:", fixed_result.split(". If")[0])

# One entry per argument of forward: dimension 0 of the first argument is a batch of any size.
batch = torch.export.Dim("batch")
dynamic = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
with torch.no_grad():
    outputs = {n: dynamic(x) for n, x in ((5, batch_of_5), (16, batch_of_16))}
    same = all(
        torch.allclose(outputs[n], model(x)) for n, x in ((5, batch_of_5), (16, batch_of_16))
    )
print("dynamic program:", {n: tuple(out.shape) for n, out in outputs.items()}, "same:", same)

assert fixed_result != "ran"  # witness: fixed-batch
assert fixed_result.startswith(  # witness: guard-failed
    "AssertionError: Guard failed: input.size()[0] == 4"
)
assert tuple(outputs[5].shape) == (5, 3) and tuple(outputs[16].shape) == (16, 3)
assert same  # witness: dynamic-batch

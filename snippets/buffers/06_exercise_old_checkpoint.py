"""Exercise: a model gains a buffer after checkpoints were saved. Do old checkpoints still load?"""

import torch
from torch import nn


class Version1(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)


class Version2(Version1):
    """Version 1 plus a lookup table that the constructor computes."""

    def __init__(self, persistent: bool) -> None:
        super().__init__()
        self.register_buffer("scales", torch.linspace(0.5, 2.0, 4), persistent=persistent)


old_checkpoint = Version1().state_dict()

try:
    Version2(persistent=True).load_state_dict(old_checkpoint)
    persistent_result = "loads"
except RuntimeError as error:
    persistent_result = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    missing_line = str(error).splitlines()[1].strip()
print("persistent=True: ", persistent_result)
print("   ", missing_line)

result = Version2(persistent=False).load_state_dict(old_checkpoint)
non_persistent_result = f"loads, missing keys {result.missing_keys}"
print("persistent=False:", non_persistent_result)

relaxed_model = Version2(persistent=True)
relaxed = relaxed_model.load_state_dict(old_checkpoint, strict=False)
relaxed_missing = ", ".join(relaxed.missing_keys)
keeps_constructor_value = torch.equal(relaxed_model.scales, torch.linspace(0.5, 2.0, 4))
loaded_linear = torch.equal(relaxed_model.linear.weight, old_checkpoint["linear.weight"])
print("persistent=True, strict=False: loads, missing keys", relaxed.missing_keys)

# strict=False forgives missing and unexpected keys, not a tensor of the wrong shape.
wrong_shape = dict(old_checkpoint, **{"linear.weight": torch.zeros(3, 4)})
try:
    Version2(persistent=False).load_state_dict(wrong_shape, strict=False)
    shape_result = "loads"
except RuntimeError as error:
    shape_result = str(error).splitlines()[1].strip()
print("wrong shape, strict=False:", shape_result.split(":")[0])

# linspace computes start + step * i for the first half and end - step * (steps - 1 - i) for the
# second. The step 0.5 is exact in binary and so is every product step * i, so any rounding of the
# sums gives the exact table.
scales = torch.linspace(0.5, 2.0, 4)
exact = torch.tensor([0.5, 1.0, 1.5, 2.0])
start, end, i = torch.tensor(0.5), torch.tensor(2.0), torch.arange(4.0)
step = (end - start) / 3
products_exact = torch.equal((step * i).double(), step.double() * i.double())
from_start, from_end = start + step * i, end - step * (3 - i)
print("linspace(0.5, 2.0, 4):", scales.tolist())

assert persistent_result.startswith("RuntimeError: Error(s) in loading")  # witness: refuses
assert missing_line.startswith("Missing key(s)") and "scales" in missing_line  # witness: names-key
assert non_persistent_result == "loads, missing keys []"  # witness: non-persistent-loads
assert relaxed_missing == "scales" and loaded_linear  # witness: strict-false-reports
assert keeps_constructor_value  # witness: keeps-constructor-value
short_exact = all(torch.equal(table, exact) for table in (scales, from_start, from_end))
assert short_exact and products_exact  # witness: short-table-exact
assert shape_result.startswith("size mismatch for linear.weight")  # witness: shape-still-raises

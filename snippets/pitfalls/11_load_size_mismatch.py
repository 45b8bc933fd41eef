"""load_state_dict with other layer sizes raises, even with strict=False; strict=False only
tolerates missing and unexpected keys, and reports them in a value that is easy to ignore."""

from torch import nn

checkpoint = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).state_dict()

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))  # a head of another size
messages = []
for strict in (True, False):
    try:
        model.load_state_dict(checkpoint, strict=strict)
        messages.append("")
    except RuntimeError as error:
        messages.append(str(error))
first_line = messages[0].splitlines()[0]
mismatch_line = messages[0].splitlines()[1].strip()
strict_false_raises = messages[1] != ""
mismatches = [line.strip().split(":")[0] for line in messages[1].splitlines()[1:]]
print(f"RuntimeError: {first_line}\n    {mismatch_line}")
print("strict=False raises too:", strict_false_raises)

# Missing keys pass silently with strict=False; the returned value says what was skipped.
deeper = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 3))
result = deeper.load_state_dict(checkpoint, strict=False)
missing = ", ".join(result.missing_keys)
print("strict=False, missing keys:", missing, " unexpected keys:", result.unexpected_keys)

assert first_line.startswith("Error(s) in loading state_dict for Sequential")
assert mismatch_line.startswith("size mismatch for 2.weight")
both_mismatches = mismatches == ["size mismatch for 2.weight", "size mismatch for 2.bias"]
assert strict_false_raises and both_mismatches  # witness: strict-false-raises
assert missing == "4.weight, 4.bias" and result.unexpected_keys == []  # witness: missing-reported

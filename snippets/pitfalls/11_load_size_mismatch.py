"""load_state_dict with other layer sizes raises, even with strict=False, after copying the tensors
that do match; strict=False only tolerates missing and unexpected keys, and reports them in a value
that is easy to ignore."""

import torch
from torch import nn

torch.manual_seed(0)
checkpoint = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).state_dict()

messages, partly_loaded = [], []
for strict in (True, False):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))  # a head of another size
    differed = not torch.equal(model[0].weight, checkpoint["0.weight"])
    try:
        model.load_state_dict(checkpoint, strict=strict)
        messages.append("")
    except RuntimeError as error:
        messages.append(str(error))
    # the first layer matched, so it was copied before the error was raised
    partly_loaded.append(differed and torch.equal(model[0].weight, checkpoint["0.weight"]))
first_line = messages[0].splitlines()[0]
mismatch_line = messages[0].splitlines()[1].strip()
strict_false_raises = messages[1] != ""
mismatches = [line.strip().split(":")[0] for line in messages[1].splitlines()[1:]]
print(f"RuntimeError: {first_line}\n    {mismatch_line}")
same_error = messages[0] == messages[1]
print("strict=False raises too:", strict_false_raises, " the same message:", same_error)
print("first layer loaded all the same (strict=True, strict=False):", partly_loaded)

# The error comes only at the end: a mismatch in the first layer does not stop the copying.
wider = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))  # takes 5 inputs, not 4
wider_mismatches = []
try:
    wider.load_state_dict(checkpoint)
except RuntimeError as error:
    wider_mismatches = [line.strip().split(":")[0] for line in str(error).splitlines()[1:]]
after_mismatch = [torch.equal(wider.state_dict()[k], checkpoint[k]) for k in ("0.bias", "2.weight")]
print(wider_mismatches, " 0.bias, 2.weight loaded all the same:", after_mismatch)
matching = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))  # the fix: same configuration
matching_result = matching.load_state_dict(checkpoint)
print("the saved configuration:", matching_result)

# Missing keys pass silently with strict=False; the returned value says what was skipped.
deeper = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 3))
result = deeper.load_state_dict(checkpoint, strict=False)
missing = ", ".join(result.missing_keys)
print("strict=False, missing keys:", missing, " unexpected keys:", result.unexpected_keys)
# Unexpected keys too: a shallower model leaves the checkpoint's head unused, with no error.
shallower = nn.Sequential(nn.Linear(4, 8))
shallower_result = shallower.load_state_dict(checkpoint, strict=False)
unexpected = ", ".join(shallower_result.unexpected_keys)
print("a shallower model, strict=False: unexpected keys:", unexpected, end="")
print("  missing keys:", shallower_result.missing_keys)

# A lazy module has no shape to compare: LazyLinear(2) takes the three-output head silently.
lazy = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
lazy_result = lazy.load_state_dict(checkpoint)
lazy_head_shape = tuple(lazy[2].weight.shape)
print("lazy model built for 2 outputs:", lazy_result, " head weight shape:", lazy_head_shape)
head_outputs = lazy(torch.randn(1, 4)).shape[-1]  # its first forward pass turns it into a Linear
head_repr = repr(lazy[2])
print(f"its output has {head_outputs} values, while the head reports {head_repr}")

assert first_line.startswith("Error(s) in loading state_dict for Sequential")
assert mismatch_line.startswith("size mismatch for 2.weight")
both_mismatches = mismatches == ["size mismatch for 2.weight", "size mismatch for 2.bias"]
assert strict_false_raises and both_mismatches and same_error  # witness: strict-false-raises
assert partly_loaded == [True, True]  # witness: partly-loaded
raises_at_end = wider_mismatches == ["size mismatch for 0.weight"] and all(after_mismatch)
assert raises_at_end  # witness: raises-at-end
loaded = torch.equal(matching[2].weight, checkpoint["2.weight"])
assert loaded and not matching_result.missing_keys  # witness: same-configuration-loads
assert missing == "4.weight, 4.bias" and result.unexpected_keys == []  # witness: missing-reported
shallower_loaded = torch.equal(shallower[0].weight, checkpoint["0.weight"])
only_unexpected = unexpected == "2.weight, 2.bias" and not shallower_result.missing_keys
assert only_unexpected and shallower_loaded  # witness: unexpected-reported
assert lazy_head_shape == (3, 8) and not lazy_result.missing_keys  # witness: lazy-takes-any-shape
wrong_size = head_outputs == 3 and lazy[2].out_features == 2
assert wrong_size  # witness: lazy-head-mislabelled

"""nn.DataParallel stores the model as `.module`, so its state_dict keys start with "module."."""

import torch
from torch import nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def make_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
wrapped = nn.DataParallel(make_model().to(device))
saved = wrapped.state_dict()
first_key = next(iter(saved))
print("keys written by the wrapper:", list(saved))

plain = make_model()
prefix_message = "no error"
try:
    plain.load_state_dict(saved)
except RuntimeError as error:
    prefix_message = str(error)
    print(f"{type(error).__name__}: {prefix_message.splitlines()[0]}")
    for line in prefix_message.splitlines()[1:]:
        print("   ", line.strip())
missing_line, unexpected_line = prefix_message.splitlines()[1:3]

# Repair an existing file: strip the prefix in place (it also fixes the version metadata).
print("version metadata before:", list(saved._metadata))
consume_prefix_in_state_dict_if_present(saved, "module.")
plain.load_state_dict(saved)
print("after stripping:", list(saved))
print("version metadata after: ", list(saved._metadata))

# Better, at save time: save the inner module, whose keys have no prefix.
inner_keys = list(wrapped.module.state_dict())
same_weights = torch.equal(plain[0].weight, wrapped.module[0].weight.cpu())

assert first_key == "module.0.weight"  # witness: module-prefix
assert all(f'"module.{key}"' in unexpected_line for key in inner_keys)  # witness: all-keys-differ
assert all(f'"{key}"' in missing_line for key in inner_keys)
assert "Missing key(s)" in missing_line and "Unexpected key(s)" in unexpected_line
assert not any(name.startswith("module") for name in saved._metadata)  # witness: metadata-stripped
assert list(saved) == inner_keys == ["0.weight", "0.bias", "2.weight", "2.bias"]  # witness: inner
assert same_weights

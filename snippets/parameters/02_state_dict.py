"""A state_dict maps dotted paths to tensors: parameters and buffers, named by the module tree."""

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()
        )
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


model = Classifier()
state = model.state_dict()
for key, tensor in state.items():
    print(f"{key:33} {str(tuple(tensor.shape)):7} {tensor.dtype}")

parameter_names = {name for name, _ in model.named_parameters()}
buffer_names = [key for key in state if key not in parameter_names]
key_count = len(state)
parameter_tensor_count = len(parameter_names)
buffer_count = len(buffer_names)
buffers = ", ".join(buffer_names)
print(
    f"{key_count} entries: {parameter_tensor_count} parameters and {buffer_count} buffers",
    f"({buffers})",
)

# The entries are detached views of the live tensors, not copies.
entry = state["head.bias"]
shares_memory = entry.data_ptr() == model.head.bias.data_ptr()
entry_requires_grad = entry.requires_grad
with torch.no_grad():
    model.head.bias.fill_(1.0)  # change the model after taking the state_dict ...
entry_follows_model = bool(torch.all(entry == 1.0))  # ... and the earlier state_dict changed too
print(
    "same memory:",
    shares_memory,
    " requires_grad:",
    entry_requires_grad,
    " follows the model:",
    entry_follows_model,
)

# Converting the model swaps in new tensors: from then on the earlier entries no longer follow it.
model.double()
with torch.no_grad():
    model.head.bias.fill_(2.0)
follows_after_double = bool(torch.all(entry == 2.0))
print("after model.double(), the earlier entry follows the model:", follows_after_double)

first_key = next(iter(state))
assert first_key == "backbone.0.weight"
assert list(state)[-2:] == ["head.weight", "head.bias"]
assert (key_count, parameter_tensor_count, buffer_count) == (11, 8, 3)
assert buffers == "backbone.1.running_mean, backbone.1.running_var, backbone.1.num_batches_tracked"
assert shares_memory and not entry_requires_grad and entry_follows_model
assert not follows_after_double and entry.dtype == torch.float32

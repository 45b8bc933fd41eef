"""A parameter, a persistent buffer and a non-persistent buffer: where each one shows up."""

import torch
from torch import nn


class MaskedClassifier(nn.Module):
    """Standardizes its input with stored statistics, hides some features, then classifies."""

    def __init__(self, num_features: int, num_classes: int, hidden: list[int]) -> None:
        super().__init__()
        self.linear = nn.Linear(num_features, num_classes)  # learned: parameters
        # Statistics of the training data, set once before training: part of the checkpoint.
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        # Derived from the constructor's arguments, so it need not be saved.
        mask = torch.ones(num_features)
        mask[hidden] = 0.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x - self.mean) / self.std * self.mask)


model = MaskedClassifier(num_features=4, num_classes=2, hidden=[3])

parameter_names = [name for name, _ in model.named_parameters()]
buffer_names = [name for name, _ in model.named_buffers()]
state_keys = list(model.state_dict())
print("named_parameters():", parameter_names)
print("named_buffers():   ", buffer_names)
print("state_dict() keys: ", state_keys)
buffer_names_text = ", ".join(buffer_names)
state_keys_text = ", ".join(state_keys)

parameter_count = len(list(model.parameters()))
buffer_count = len(list(model.buffers()))
state_count = len(state_keys)
mask_saved = "mask" in model.state_dict()
buffers_require_grad = any(b.requires_grad for b in model.buffers())
print(f"{parameter_count} parameters, {buffer_count} buffers, {state_count} state_dict entries")
print("mask in state_dict:", mask_saved, " any buffer requires grad:", buffers_require_grad)

# An optimizer only sees what parameters() yields: no buffer, unless a parameter is one too.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
optimized = sum(len(group["params"]) for group in optimizer.param_groups)
optimizer_ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
optimizer_holds_buffer = any(id(b) in optimizer_ids for b in model.buffers())
print("tensors the optimizer updates:", optimized, " any of them a buffer:", optimizer_holds_buffer)
# The exception: a parameter registered as a buffer too is in both listings.
both = nn.Linear(2, 2)
both.register_buffer("weight_again", both.weight)
held = {id(p) for p in torch.optim.SGD(both.parameters(), lr=0.1).param_groups[0]["params"]}
buffer_held = any(id(b) in held for b in both.buffers())

# Loading matches keys by name: a state_dict with its keys in reverse order loads the same.
source = MaskedClassifier(num_features=4, num_classes=2, hidden=[3])
source.mean.fill_(2.0)
reversed_state = dict(reversed(source.state_dict().items()))
reloaded = MaskedClassifier(num_features=4, num_classes=2, hidden=[3])
reloaded.load_state_dict(reversed_state)
loads_in_any_order = torch.equal(reloaded.mean, source.mean) and torch.equal(
    reloaded.linear.weight, source.linear.weight
)
print("keys in reverse order load the same values:", loads_in_any_order)

# Names register_buffer refuses: empty, dotted, or already an attribute (a child, a parameter, ...).
refused = {}
for owner, name in [(model, ""), (model, "a.b"), (model, "linear"), (model.linear, "weight")]:
    try:
        owner.register_buffer(name, torch.zeros(1))
    except KeyError as error:
        refused[name] = type(error).__name__
try:
    model.register_buffer("training", torch.zeros(1))
except KeyError as error:
    refused["training"] = type(error).__name__
    training_message = error.args[0]
refusal_errors = ", ".join(sorted(set(refused.values())))
print("refused names:", list(refused), "with", refusal_errors, "-", training_message)
# A buffer's own name is not refused: registering it again replaces the buffer and its persistence.
# On a fresh model, so that model keeps its mask.
rebuilt = MaskedClassifier(num_features=4, num_classes=2, hidden=[3])
was_unsaved = "mask" not in rebuilt.state_dict()
rebuilt.register_buffer("mask", torch.zeros(4))  # persistent=True, the default
mask_replaced = rebuilt.mask.sum().item() == 0 and "mask" in rebuilt.state_dict()
print("mask registered again: replaced and now saved:", mask_replaced)

# register_buffer keeps the tensor it is given, requires_grad flag included.
probe = nn.Module()
flagged = torch.zeros(2, requires_grad=True)
probe.register_buffer("flagged", flagged)
print("a buffer registered with requires_grad=True requires grad:", probe.flagged.requires_grad)

# Own parameters, then own buffers, then the submodule's, whatever the order of registration.
ordered = nn.Module()
ordered.child = nn.Linear(2, 2)
ordered.register_buffer("b", torch.zeros(1))
ordered.p = nn.Parameter(torch.zeros(1))
ordered_keys = list(ordered.state_dict())
print("registered child, b, p: state_dict() keys", ordered_keys)

# get_buffer reaches a buffer deep inside a model by its dotted name.
outer = nn.Module()
outer.block = nn.Module()
outer.block.norm = nn.BatchNorm1d(3)
deep = outer.get_buffer("block.norm.running_mean")
deep_is_buffer = deep is outer.block.norm.running_mean
print('get_buffer("block.norm.running_mean") is block.norm.running_mean:', deep_is_buffer)

assert parameter_names == ["linear.weight", "linear.bias"]  # witness: parameters-are-learned
assert model.mean is dict(model.named_buffers())["mean"]  # witness: read-as-attribute
assert buffer_names == ["mean", "std", "mask"]  # witness: buffers-persistent-or-not
# Own parameters, own buffers, then the submodule's, prefixed with its attribute name.
assert state_keys == ["mean", "std", "linear.weight", "linear.bias"]
assert ordered_keys == ["p", "b", "child.weight", "child.bias"]  # witness: key-order
assert (parameter_count, buffer_count, state_count, optimized) == (2, 3, 4, 2)
assert "mask" in buffer_names and not mask_saved  # witness: mask-not-saved
assert not buffers_require_grad  # witness: buffers-no-grad
assert probe.flagged is flagged and probe.flagged.requires_grad  # witness: register-keeps-flag
assert not optimizer_holds_buffer  # witness: optimizer-never-buffer
assert buffer_held  # witness: registered-as-both
assert loads_in_any_order  # witness: order-irrelevant
assert model(torch.randn(5, 4)).shape == (5, 2)
assert list(refused) == ["", "a.b", "linear", "weight", "training"]  # witness: refused-names
assert refusal_errors == "KeyError" and training_message == "attribute 'training' already exists"
assert mask_replaced and was_unsaved  # witness: reregister-replaces
assert deep_is_buffer  # witness: get-buffer-dotted

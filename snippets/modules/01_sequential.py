"""nn.Sequential: a model made by listing layers; calling it runs them in order."""

from collections import OrderedDict

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
X = torch.randn(2, 8).to(device)  # a batch of 2 examples with 8 features each
Y = model(X)
print(model)
print("input", tuple(X.shape), "-> output", tuple(Y.shape))

# The container is itself a Module; its layers are children, reachable by position.
layer_count = len(model)
by_hand = model[2](model[1](model[0](X)))
same_as_by_hand = torch.equal(Y, by_hand)
print("layers:", layer_count, " model(X) equals the layers called in turn:", same_as_by_hand)

# A slice of a Sequential is a Sequential: here, the hidden features.
front = model[:2]
hidden_shape = tuple(front(X).shape)
front_type = type(front).__name__
slice_shares_layers = front[0] is model[0]  # the same layer objects, not copies
print(f"model[:2] is a {front_type}; it maps X to shape {hidden_shape}")
print("the slice holds the model's own layers:", slice_shares_layers)

# So training the slice trains the model: one SGD step on the slice's parameters changes model[0].
first_weight, last_weight = model[0].weight.detach().clone(), model[2].weight.detach().clone()
optimizer = torch.optim.SGD(front.parameters(), lr=0.1)
front(X).sum().backward()
optimizer.step()
model_trained = not torch.equal(model[0].weight, first_weight)
rest_untouched = torch.equal(model[2].weight, last_weight)  # the slice never used it: no gradient
print("one step on the slice changed model[0].weight:", model_trained)


# Slicing calls the model's own class with one argument, an OrderedDict of the chosen layers,
# and no options. Logged notes what its constructor receives. A plain Sequential slices safely.
class Logged(nn.Sequential):
    def __init__(self, *args: object, **options: float) -> None:
        super().__init__(*args)
        self.received = [type(arg).__name__ for arg in args]
        self.options = options


logged = Logged(nn.Linear(8, 8), nn.ReLU(), scale=5.0)
logged_front = logged[:1]
slice_call = (logged_front.received, logged_front.options)
print("Logged(..., scale=5.0)[:1] received:", *slice_call)
plain_front = nn.Sequential(*list(logged)[:1])  # a plain Sequential of the model's first layer

# Sequential.forward takes a single input: a second one is an error.
try:
    model(X, X)
    two_inputs_message = ""
except TypeError as error:
    two_inputs_message = str(error)
    print(f"{type(error).__name__}: {error}")

parameter_count = sum(p.numel() for p in model.parameters())  # numbers, not tensors
names = [name for name, _ in model.named_parameters()]
parameter_tensor_count = len(names)
parameter_names = ", ".join(names)
print(f"{parameter_tensor_count} parameter tensors: {parameter_names} -> {parameter_count} numbers")

# Given an OrderedDict, a Sequential names its layers by the keys instead of by position.
named = nn.Sequential(OrderedDict(hidden=nn.Linear(8, 32), act=nn.ReLU(), output=nn.Linear(32, 4)))
named_parameter_names = ", ".join(name for name, _ in named.named_parameters())
named_type = type(named.hidden).__name__
print("with an OrderedDict:", named_parameter_names, "; named.hidden is a", named_type)
# Built from a list of those layers, a Sequential numbers them again: the names are gone.
renumbered = [name for name, _ in nn.Sequential(*list(named)[:1]).named_parameters()]
print("nn.Sequential(*list(named)[:1]) names:", *renumbered)
renumbered_keys = list(nn.Sequential(*list(named)[:1]).state_dict())
model_keys_front = list(named.state_dict())[:2]  # hidden.weight, hidden.bias
keys_differ = renumbered_keys == renumbered and not set(renumbered_keys) & set(model_keys_front)

output_shape = tuple(Y.shape)
assert output_shape == (2, 4) and hidden_shape == (2, 32)
assert layer_count == 3
assert same_as_by_hand  # witness: layers-in-turn
assert type(front) is nn.Sequential  # witness: slice-is-sequential
sliced_as_class = type(logged_front) is Logged and list(logged_front) == [logged[0]]
assert slice_call == (["OrderedDict"], {}) and sliced_as_class  # witness: slice-calls-class
assert type(plain_front) is nn.Sequential and plain_front[0] is logged[0]  # witness: plain-slice
assert slice_shares_layers and front[0].weight is model[0].weight  # witness: slice-shares
assert model_trained and rest_untouched  # witness: slice-trains-model
assert "positional argument" in two_inputs_message  # witness: one-input
assert names == ["0.weight", "0.bias", "2.weight", "2.bias"] and parameter_tensor_count == 4
assert parameter_count == (8 * 32 + 32) + (32 * 4 + 4) == 420
assert named_parameter_names == "hidden.weight, hidden.bias, output.weight, output.bias"
assert named_type == "Linear"
assert named[0] is named.hidden  # witness: named-attribute
assert renumbered == ["0.weight", "0.bias"]  # witness: list-renumbers
assert keys_differ  # witness: keys-differ

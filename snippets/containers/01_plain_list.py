"""Layers kept in a plain Python list still run, but the module cannot see them."""

import copy
import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:classes]
class ListMLP(nn.Module):
    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(widths, widths[1:])]  # a plain list

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


class ModuleListMLP(ListMLP):
    def __init__(self, widths: list[int]) -> None:
        super().__init__(widths)
        self.layers = nn.ModuleList(self.layers)  # the same layers, now registered


# --8<-- [end:classes]
widths = [8, 16, 16, 4]
torch.manual_seed(0)
hidden = ListMLP(widths)
X = torch.randn(2, 8)
output_shape = tuple(hidden(X).shape)  # forward works: Python finds the list as usual
list_is_plain_attribute = isinstance(vars(hidden).get("layers"), list)  # in the instance __dict__
hidden_parameters = sum(p.numel() for p in hidden.parameters())
hidden_state_keys = len(hidden.state_dict())
print(
    f"ListMLP: output {output_shape},",
    f"{hidden_parameters} parameters, {hidden_state_keys} state_dict entries",
)

try:
    torch.optim.SGD(hidden.parameters(), lr=0.1)
except ValueError as error:
    message = str(error)
    print(f"{type(error).__name__}: {error}")

# Module-wide operations skip the hidden layers too. The "meta" device holds shapes and dtypes
# but no data, so a move to it shows on any machine what a move to a GPU would do.
hidden.to(torch.float64)
hidden_dtype_after = str(hidden.layers[0].weight.dtype)
hidden.to("meta")
hidden_meta_device = hidden.layers[0].weight.device.type
hidden.to(device)
hidden_device_after = hidden.layers[0].weight.device.type
hidden.eval()
hidden_layer_training = hidden.layers[0].training
print(f"after .to(torch.float64): weight is {hidden_dtype_after}")
print(
    f"after .to('meta'), then .to({device.type!r}): weight on",
    f"{hidden_meta_device}, then on {hidden_device_after}",
)
print(f"after .eval(): layer training={hidden_layer_training}")

# With one registered layer besides the list, the optimizer starts and trains that layer only.
partly = ListMLP(widths)
partly.head = nn.Linear(4, 4)
listed_before = partly.layers[0].weight.detach().clone()
head_before = partly.head.weight.detach().clone()
partly_optimizer = torch.optim.SGD(partly.parameters(), lr=0.1)
partly.head(partly(X)).sum().backward()
partly_optimizer.step()
optimized_tensors = len(partly_optimizer.param_groups[0]["params"])  # head.weight, head.bias
listed_got_grad = partly.layers[0].weight.grad is not None  # it is in the graph, not the optimizer
listed_unchanged = torch.equal(partly.layers[0].weight, listed_before)
head_trained = not torch.equal(partly.head.weight, head_before)
print(
    f"ListMLP + a registered head: the optimizer holds {optimized_tensors} tensors;",
    f"head trained: {head_trained}, listed layer unchanged: {listed_unchanged}",
)

# model.zero_grad() reaches the head only: the listed layer keeps its .grad, and backward adds to it
partly.zero_grad()
weight, head_cleared = partly.layers[0].weight, partly.head.weight.grad is None
stale = torch.zeros_like(weight) if weight.grad is None else weight.grad.clone()
loss = partly.head(partly(X)).sum()
(fresh,) = torch.autograd.grad(loss, weight, retain_graph=True)
loss.backward()
grads_pile_up = bool(stale.any()) and torch.allclose(weight.grad, stale + fresh)

# copy.deepcopy(model), and torch.save(model) loaded back with weights_only=False, copy the plain
# list too: the copies hold layers of their own, with weights in memory of their own.
plain, saved = ListMLP(widths), io.BytesIO()
torch.save(plain, saved)
saved.seek(0)
copies = (copy.deepcopy(plain), torch.load(saved, weights_only=False))
pairs = [(mine, theirs) for c in copies for mine, theirs in zip(c.layers, plain.layers)]
copied_weights = all(torch.equal(mine.weight, theirs.weight) for mine, theirs in pairs)
copied_weights &= all(mine.weight.data_ptr() != theirs.weight.data_ptr() for mine, theirs in pairs)
own_layers = all(c.layers is not plain.layers for c in copies)
own_layers &= len(pairs) == 2 * len(plain.layers) and all(m is not t for m, t in pairs)
copied_all = copied_weights and own_layers and not any(list(c.parameters()) for c in copies)


# Other Python containers hide their contents the same way, Parameters included.
class Unregistered(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.by_name = {"a": nn.Linear(2, 2)}  # a dict
        self.pair = (nn.Linear(2, 2), nn.Linear(2, 2))  # a tuple
        self.scales = [nn.Parameter(torch.ones(2))]  # a list of Parameters


unregistered_parameters = sum(p.numel() for p in Unregistered().parameters())
print("dict, tuple and list of Parameters: parameters seen:", unregistered_parameters)

registered = ModuleListMLP(widths).to(device)
registered_parameters = sum(p.numel() for p in registered.parameters())
registered_state_keys = len(registered.state_dict())
optimizer = torch.optim.SGD(registered.parameters(), lr=0.1)
optimizer_tensors = len(optimizer.param_groups[0]["params"])  # a weight and a bias per layer
registered_devices = {p.device.type for p in registered.parameters()}
meta_devices = {p.device.type for p in ModuleListMLP(widths).to("meta").parameters()}
converted = ModuleListMLP(widths).to(torch.float64).eval()
converted_dtypes = {str(p.dtype) for p in converted.parameters()}
converted_training = {layer.training for layer in converted.layers}
print(
    f"ModuleListMLP: {registered_parameters} parameters,",
    f"{registered_state_keys} state_dict entries, the optimizer holds {optimizer_tensors} tensors",
)
moves = f"after .to('meta'): {meta_devices}, after .to({device.type!r}): {registered_devices}"
print("  parameters", moves)
print(f"  after .to(torch.float64) and .eval(): {converted_dtypes}, training={converted_training}")

assert output_shape == (2, 4)
assert list_is_plain_attribute  # witness: plain-attribute
assert hidden_parameters == 0  # witness: no-parameters
assert hidden_state_keys == 0  # witness: state-dict-empty
assert message.startswith("optimizer got an empty parameter list")
assert optimized_tensors == 2 and head_trained  # witness: registered-layer-trains
assert listed_got_grad and listed_unchanged  # witness: listed-layers-untrained
assert head_cleared and grads_pile_up  # witness: zero-grad-skips
assert copied_all  # witness: pickling-copies-all
assert hidden_dtype_after == "torch.float32"  # witness: to-skips-dtype
assert hidden_meta_device == "cpu"  # witness: to-skips-device
assert hidden_device_after == "cpu"  # witness: to-skips-accelerator
assert hidden_layer_training  # witness: eval-skips
assert unregistered_parameters == 0  # witness: other-containers-hide
assert registered_parameters == (8 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4) == 484
assert registered_state_keys == 6
reached = converted_dtypes == {"torch.float64"} and converted_training == {False}
assert optimizer_tensors == 6 and reached  # witness: modulelist-fixes
assert meta_devices == {"meta"}  # witness: modulelist-moves
assert registered_devices == {device.type}  # witness: modulelist-moves-accelerator

"""nn.ParameterList and nn.ParameterDict register tensors of any shapes as parameters."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class RawMLP(nn.Module):
    """An MLP written with raw weight tensors, one per layer, of different shapes."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        pairs = list(zip(widths, widths[1:]))
        # Plain tensors go in; the containers register each one as a Parameter.
        self.weights = nn.ParameterList(torch.randn(b, a) / a**0.5 for a, b in pairs)
        self.biases = nn.ParameterList(torch.zeros(b) for _, b in pairs)
        self.affine = nn.ParameterDict(
            {"scale": torch.ones(widths[-1]), "shift": torch.zeros(widths[-1])}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = nn.functional.linear(x, weight, bias)
            if i < len(self.weights) - 1:
                x = torch.relu(x)
        return x * self.affine["scale"] + self.affine["shift"]


# --8<-- [end:class]
torch.manual_seed(0)
model = RawMLP([8, 16, 4]).to(device)
X = torch.randn(2, 8).to(device)
output_shape = tuple(model(X).shape)
names = ", ".join(name for name, _ in model.named_parameters())
parameter_count = sum(p.numel() for p in model.parameters())
print("output shape:", output_shape, " parameters:", parameter_count)
print("names:", names)

# Plain tensors went in; Parameters that require gradients came out.
entries = [*model.weights, *model.biases, *model.affine.values()]
all_parameters = all(type(p) is nn.Parameter for p in entries)
all_require_grad = all(p.requires_grad for p in model.parameters())
shapes = [tuple(w.shape) for w in model.weights]
print(
    f"all {len(entries)} entries are Parameters: {all_parameters};",
    f"all require grad: {all_require_grad}; weight shapes {shapes}",
)

# Unlike ModuleDict, ParameterDict sorts the keys of a plain dict; pairs keep their order.
from_dict = list(nn.ParameterDict({"shift": torch.zeros(1), "scale": torch.ones(1)}))
from_pairs = list(nn.ParameterDict([("shift", torch.zeros(1)), ("scale", torch.ones(1))]))
print("ParameterDict keys from a dict:", from_dict, " from pairs:", from_pairs)

# Values that are neither tensors nor modules stay ordinary entries: not parameters.
mixed_list = nn.ParameterList([torch.zeros(2), "a note"])
mixed_dict = nn.ParameterDict({"scale": torch.ones(2), "unit": "cm"})
kept = (mixed_list[1], mixed_dict["unit"])
mixed_parameters = len(list(mixed_list.parameters())) + len(list(mixed_dict.parameters()))
print(f"non-tensor entries kept: {kept}; parameters among 4 entries: {mixed_parameters}")
# Such a value's key is not checked: a string under "type" hides the type method.
clash = nn.ParameterDict({"type": "cm"})
# A tensor's key is checked and refused, but only after the key is recorded: it stays listed.
refused_clash, tensor_key_refused = nn.ParameterDict(), False
try:
    refused_clash["type"] = torch.ones(1)
except KeyError:
    tensor_key_refused = True
key_left = list(refused_clash)
left_reads_method = callable(refused_clash["type"])  # the key now reads the container's method
print(f"tensor under 'type': refused {tensor_key_refused}; keys left: {key_left}", end=", ")
print("reading it gives a method:", left_reads_method)
# A module under such a key is registered, yet reading the key also gives the method.
module_clash = nn.ParameterDict({"type": nn.Linear(2, 2)})
module_clash_names = [name for name, _ in module_clash.named_parameters()]
read_back = module_clash["type"]
module_clash_reads_method = callable(read_back) and not isinstance(read_back, nn.Module)
print(f"Linear under 'type': parameters {module_clash_names}", end=", ")
print("reading it gives a method:", module_clash_reads_method)
# A module entry is registered as a child, and its parameters are counted.
module_entries = [
    name
    for container in (nn.ParameterList([nn.Linear(2, 2)]), nn.ParameterDict({"m": nn.Linear(2, 2)}))
    for name, _ in container.named_parameters()
]
print("parameters of module entries:", module_entries)

# A parameter requires a gradient, which only floating-point and complex tensors can have.
try:
    nn.ParameterList([torch.arange(3)])
except RuntimeError as error:
    integer_message = str(error)
    print(f"nn.ParameterList([torch.arange(3)]): {type(error).__name__}: {error}")
integer_kept = nn.ParameterList([nn.Parameter(torch.arange(3), requires_grad=False)])[0]

# Item assignment wraps a plain tensor in a new Parameter, which an earlier optimizer does not hold.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
plain_tensors = (torch.full((4,), 2.0, device=device), torch.zeros(4, 16, device=device))
model.affine["scale"], model.weights[1] = plain_tensors
new_entries = (model.affine["scale"], model.weights[1])
held = optimizer.param_groups[0]["params"]
item_untracked = not any(new is p for new in new_entries for p in held)
print("item assignment: Parameters", [type(new).__name__ for new in new_entries], end=", ")
print("held by the optimizer built before:", not item_untracked)

assert output_shape == (2, 4)
assert names.startswith("weights.0, weights.1, biases.0, biases.1, affine.scale, affine.shift")
assert parameter_count == (8 * 16 + 16 * 4) + (16 + 4) + (4 + 4) == 220
assert len(entries) == 6 and all_parameters  # witness: became-parameters
assert all_require_grad  # witness: require-grad
assert shapes == [(16, 8), (4, 16)]  # witness: shapes-differ
assert kept == ("a note", "cm") and mixed_parameters == 2  # witness: non-tensors-kept
assert module_entries == ["0.weight", "0.bias", "m.weight", "m.bias"]  # witness: modules-registered
integer_parameter = type(integer_kept) is nn.Parameter and integer_kept.dtype == torch.int64
assert integer_message.startswith("Only Tensors of floating point")  # witness: integer-refused
assert integer_parameter  # witness: integer-parameter-kept
assert from_dict == ["scale", "shift"] and from_pairs == ["shift", "scale"]  # witness: dict-sorted
assert clash.type == "cm" and not callable(clash.type)  # witness: non-tensor-key-unchecked
key_kept = key_left == ["type"] and left_reads_method
assert tensor_key_refused and key_kept  # witness: tensor-key-refused-key-kept
registered = module_clash_names == ["type.weight", "type.bias"]
assert registered and module_clash_reads_method  # witness: module-key-registered-unreadable
item_wrapped = all(  # a Parameter around the tensor's own memory, not a copy
    type(new) is nn.Parameter and new.data_ptr() == plain.data_ptr()
    for new, plain in zip(new_entries, plain_tensors, strict=True)
)
assert item_wrapped and item_untracked  # witness: item-assignment-new-parameter

"""Count the parameters of Linear(10, 8) -> ReLU -> Linear(8, 3), by hand and with PyTorch."""

import copy

import torch
from torch import nn

torch.manual_seed(0)
sizes = [10, 8, 3]  # the design: 10 inputs, 8 hidden units, 3 outputs
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))  # the model as built
hidden, relu, output = model

# By hand, from the design alone: Linear(d_in, d_out) holds a d_out x d_in weight and one bias
# per output.
hidden_weights = sizes[0] * sizes[1]
hidden_biases = sizes[1]
hidden_total = hidden_weights + hidden_biases
output_weights = sizes[1] * sizes[2]
output_biases = sizes[2]
output_total = output_weights + output_biases
relu_total = 0  # a fixed function, max(x, 0): ReLU registers no parameter to learn
by_hand = hidden_total + relu_total + output_total

# PyTorch, from the built model: every element of every parameter tensor it owns.
total = sum(p.numel() for p in model.parameters())
tensor_count = len(list(model.parameters()))
parameter_names = ", ".join(name for name, _ in model.named_parameters())

for name, parameter in model.named_parameters():
    print(f"{name:9} shape {str(tuple(parameter.shape)):8} {parameter.numel():3} numbers")
print(f"by hand, from the design: {hidden_total} + {relu_total} + {output_total} = {by_hand}")
print(f"PyTorch, from the model:  {total}")


# A wiring mistake: the last layer built with 4 outputs. PyTorch's count no longer matches the
# design, but arithmetic on the sizes read back from the built layers follows the mistake.
def count_from_layers(stack: nn.Sequential) -> int:
    linears = [layer for layer in stack if isinstance(layer, nn.Linear)]
    weights = sum(layer.in_features * layer.out_features for layer in linears)
    biases = sum(layer.out_features for layer in linears if layer.bias is not None)
    return weights + biases


miswired = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))
miswired_count = sum(p.numel() for p in miswired.parameters())
miswired_from_layers = count_from_layers(miswired)
print(
    f"miswired model: PyTorch {miswired_count}, its own layer sizes {miswired_from_layers}, "
    f"the design {by_hand}"
)

# The count checks one total of the sizes. Two wrong sizes can give the same total: 12 inputs and
# 7 hidden units make 12 * 7 + 7 + 7 * 3 + 3 = 115 too.
two_wrong = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))
two_wrong_count = sum(p.numel() for p in two_wrong.parameters())
two_wrong_sizes = [two_wrong[0].in_features, two_wrong[0].out_features, two_wrong[2].out_features]
print(f"sizes {two_wrong_sizes} instead of {sizes}: {two_wrong_count}")
# One wrong size alone always changes the count, since every size enters the total with a positive
# factor: change each size of the design in turn to every other value from 1 to 32.
largest_size_tried = 32
one_wrong_counts = []
for place in range(len(sizes)):
    for size in range(1, largest_size_tried + 1):
        if size != sizes[place]:
            d_in, d_hidden, d_out = sizes[:place] + [size] + sizes[place + 1 :]
            layers = [nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out)]
            one_wrong = nn.Sequential(*layers)
            one_wrong_counts.append(sum(p.numel() for p in one_wrong.parameters()))
matches = one_wrong_counts.count(by_hand)
print(f"one size changed: {len(one_wrong_counts)} models, {matches} of them count {by_hand}")
# And a layer without parameters is not counted: a model built without the ReLU has the same count.
without_relu = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Linear(sizes[1], sizes[2]))
without_relu_count = sum(p.numel() for p in without_relu.parameters())
print(f"the same sizes without the ReLU: {without_relu_count}")

# parameters() counts frozen parameters too; the trainable ones are those that require grad.
trainable_before = sum(p.numel() for p in model.parameters() if p.requires_grad)
hidden.requires_grad_(False)  # freeze the first layer
total_after_freezing = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
trainable_tensors = [p for p in model.parameters() if p.requires_grad]
frozen_still_listed = any(p is hidden.weight for p in model.parameters())
print(f"nothing frozen: {total} parameters, {trainable_before} trainable")
print(f"first layer frozen: {total_after_freezing} parameters, {trainable} trainable")

# What a Linear layer computes, and where its parameters live.
x = torch.randn(2, 10)
computes_affine = torch.allclose(hidden(x), x @ hidden.weight.T + hidden.bias)
owned_directly = list(model.parameters(recurse=False))  # the Sequential itself owns none
child_names = [name for name, _ in model.named_children()]
# ReLU is the fixed function max(x, 0). PReLU also works element by element, but learns the slope
# of its negative part: being applied element by element is not why ReLU has nothing to learn.
relu_is_max = torch.equal(relu(x), x.clamp(min=0))
prelu = nn.PReLU()
prelu_elementwise = torch.equal(prelu(x), torch.where(x >= 0, x, prelu.weight * x))
prelu_count = sum(p.numel() for p in prelu.parameters())
prelu(x).sum().backward()
prelu_trains = prelu.weight.requires_grad and prelu.weight.grad is not None  # its slope trains
print(f"nn.ReLU: {sum(p.numel() for p in relu.parameters())} parameters, nn.PReLU: {prelu_count}")

# A forward pass sees what the count cannot. The model with two wrong sizes refuses a batch of
# width 10. The model's own layers without its ReLU give other outputs, as the batch makes some
# hidden units negative.
try:
    two_wrong(x)
    two_wrong_error = ""
except RuntimeError as error:
    two_wrong_error = str(error)
print(f"the model with two wrong sizes on a batch of width 10: {two_wrong_error}")
runs_anyway = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 7))  # wrong, and also 115
runs_anyway_count = sum(p.numel() for p in runs_anyway.parameters())
runs_anyway_shape = tuple(runs_anyway(x).shape)
print(f"sizes [10, 6, 7]: {runs_anyway_count} parameters, output shape {runs_anyway_shape}")
negative_hidden = bool((hidden(x) < 0).any())
relu_matters = not torch.equal(model(x), nn.Sequential(hidden, output)(x))
print("the model's layers without its ReLU give other outputs:", relu_matters)
# On an input solved for to bring every hidden unit near 1, max(x, 0) changes nothing: they agree.
with torch.no_grad():
    all_positive = torch.linalg.pinv(hidden.weight) @ (1 - hidden.bias)
    relu_idle = bool((hidden(all_positive) > 0).all())
    no_relu_output = nn.Sequential(hidden, output)(all_positive)
    same_without_relu = torch.equal(model(all_positive), no_relu_output)
print("... and the same outputs when every hidden unit is positive:", same_without_relu)

# Two layers sharing one Parameter object: parameters() yields each object once.
first, second = nn.Linear(8, 8), nn.Linear(8, 8)
second.weight = first.weight
shared_count = sum(p.numel() for p in nn.Sequential(first, nn.ReLU(), second).parameters())
print(f"two Linear(8, 8) sharing their weight: {shared_count} parameters")
# Counted once only while both layers hold the one object. With the default settings, a move to
# meta, or a load of a plain state_dict() with assign=True, puts a new Parameter in each layer:
# then the weight is counted twice.
tied = nn.Sequential(first, nn.ReLU(), second)
copied_count = sum(p.numel() for p in copy.deepcopy(tied).parameters())  # a copy keeps the tie
on_meta = copy.deepcopy(tied).to("meta")
assigned = copy.deepcopy(tied)
assigned.load_state_dict(tied.state_dict(), assign=True)
meta_count = sum(p.numel() for p in on_meta.parameters())
assigned_count = sum(p.numel() for p in assigned.parameters())
untied = all(m[0].weight is not m[2].weight for m in (on_meta, assigned))
source_memory = tied[0].weight.data_ptr()  # assign=True keeps the loaded tensors: the source's
half_tie = assigned[0].weight.data_ptr() == assigned[2].weight.data_ptr() == source_memory
print(f'after .to("meta"): {meta_count}, after load_state_dict(assign=True): {assigned_count}')
swap_was = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)  # swap values into the same objects
try:
    swapped = copy.deepcopy(tied).to("meta")
    swap_keeps_tie = swapped[0].weight is swapped[2].weight and swapped[0].weight.is_meta
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_was)
# A new Parameter made from that weight is a second object on the same memory: counted again.
third = nn.Linear(8, 8)
third.weight = nn.Parameter(first.weight)
alias_is_new_object = third.weight is not first.weight
alias_same_memory = third.weight.data_ptr() == first.weight.data_ptr()
alias_count = sum(p.numel() for p in nn.Sequential(first, nn.ReLU(), third).parameters())
print(f"the second weight wrapped in a new nn.Parameter: {alias_count} parameters")

# A lazy layer has no sizes until its first call: its parameters exist, but without a shape.
lazy = nn.Sequential(nn.LazyLinear(3))
lazy_before = list(lazy.parameters())
shapeless = [isinstance(p, nn.parameter.UninitializedParameter) for p in lazy_before]
lazy_message = ""  # stays empty if counting does not raise
try:
    sum(p.numel() for p in lazy.parameters())
except ValueError as error:
    lazy_message = str(error)
    print(f"LazyLinear before its first call: {type(error).__name__}: {lazy_message[:43]}...")
lazy(x)
lazy_count = sum(p.numel() for p in lazy.parameters())
print(f"after a first batch of width 10: {lazy_count} parameters")

assert total == by_hand == 115  # witness: design-matches-model
assert (hidden_total, relu_total, output_total) == (88, 0, 27)
assert miswired_count != by_hand  # witness: design-catches-wiring
assert miswired_from_layers == miswired_count == 124  # witness: layer-sizes-follow-mistake
assert parameter_names == "0.weight, 0.bias, 2.weight, 2.bias"
assert computes_affine  # witness: linear-affine
assert hidden.weight.shape == (8, 10) and hidden.bias.shape == (8,)  # witness: weight-shape
assert owned_directly == [] and tensor_count == 4 and total == 115  # witness: from-submodules
assert child_names == ["0", "1", "2"]  # witness: named-by-position
assert trainable_before == total  # witness: equal-before
really_frozen = not hidden.weight.requires_grad and not hidden.bias.requires_grad
listed_though_frozen = frozen_still_listed and really_frozen
assert listed_though_frozen and total_after_freezing == 115  # witness: counts-frozen
second_layer_left = trainable_tensors[0] is output.weight and trainable_tensors[1] is output.bias
assert len(trainable_tensors) == 2 and second_layer_left  # witness: trainable-only
assert trainable == output_total == 27
assert second.weight is first.weight and shared_count == 80  # witness: shared-counted-once
alias_is_second_parameter = alias_is_new_object and alias_same_memory
assert alias_is_second_parameter and alias_count == 144  # witness: alias-counted-twice
assert without_relu_count == total == 115  # witness: sizes-only
wrong_sizes = sum(built != designed for built, designed in zip(two_wrong_sizes, sizes))
assert wrong_sizes == 2 and two_wrong_count == total == 115  # witness: sizes-cancel
names_numel = "uninitialized parameter in <method 'numel'" in lazy_message
assert shapeless == [True, True] and names_numel and lazy_count == 33  # witness: lazy-raises
assert relu_is_max and list(relu.parameters()) == []  # witness: relu-has-none
assert prelu_elementwise and prelu_count == 1 and prelu_trains  # witness: prelu-learns
assert by_hand not in one_wrong_counts and len(one_wrong_counts) == 93  # witness: one-wrong-size
assert "cannot be multiplied" in two_wrong_error  # witness: forward-catches-sizes
runs_with_7_outputs = runs_anyway_count == total and runs_anyway_shape == (len(x), 7)
assert runs_with_7_outputs  # witness: other-wrong-sizes-run
relu_is_the_cause = relu_idle and same_without_relu
assert negative_hidden and relu_matters and relu_is_the_cause  # witness: forward-catches-relu
assert copied_count == 80 and untied and meta_count == assigned_count == 144  # witness: untie
assert swap_keeps_tie  # witness: swap-keeps-tie
assert half_tie  # witness: half-tie

"""Count the parameters of Linear(10, 8) -> ReLU -> Linear(8, 3), by hand and with PyTorch."""

from torch import nn

model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
hidden, relu, output = model

# By hand: Linear(d_in, d_out) holds a d_out x d_in weight and one bias per output.
hidden_weights = hidden.in_features * hidden.out_features
hidden_biases = hidden.out_features
hidden_total = hidden_weights + hidden_biases
output_weights = output.in_features * output.out_features
output_biases = output.out_features
output_total = output_weights + output_biases
relu_total = sum(p.numel() for p in relu.parameters())
by_hand = hidden_total + relu_total + output_total

# PyTorch: every element of every parameter tensor the model owns.
total = sum(p.numel() for p in model.parameters())
parameter_names = ", ".join(name for name, _ in model.named_parameters())

for name, parameter in model.named_parameters():
    print(f"{name:9} shape {str(tuple(parameter.shape)):8} {parameter.numel():3} numbers")
print(f"by hand: {hidden_total} + {relu_total} + {output_total} = {by_hand}")
print(f"PyTorch: {total}")

assert (hidden_total, relu_total, output_total) == (88, 0, 27)
assert by_hand == total == 115
assert parameter_names == "0.weight, 0.bias, 2.weight, 2.bias"

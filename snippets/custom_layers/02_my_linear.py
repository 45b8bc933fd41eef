"""A linear layer with parameters, written as nn.Linear is: it can stand in for nn.Linear."""

import math

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class MyLinear(nn.Module):
    """y = x W^T + b, with W of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        factory = {"device": device, "dtype": dtype}
        # Assigning an nn.Parameter registers it: parameters(), state_dict(), .to() and
        # optimizers see it.
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.bias = nn.Parameter(torch.empty(out_features, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The same scheme as nn.Linear: uniform, with a bound set by the fan-in."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias  # the parameters themselves, so autograd tracks them

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


torch.manual_seed(0)
mine = MyLinear(5, 3).to(device)
torch.manual_seed(0)
reference = nn.Linear(5, 3).to(device)
print(mine)

parameter_names = ", ".join(name for name, _ in mine.named_parameters())
parameter_count = sum(p.numel() for p in mine.parameters())
weight_shape = tuple(mine.weight.shape)
same_initial_values = torch.equal(mine.weight, reference.weight) and torch.equal(
    mine.bias, reference.bias
)

x = torch.randn(4, 5).to(device)
mine(x).pow(2).sum().backward()
has_gradients = mine.weight.grad is not None and mine.bias.grad is not None
print(f"parameters {parameter_names}, {parameter_count} numbers, weight shape {weight_shape}")
print("same initial values as nn.Linear with the same seed:", same_initial_values)
print("gradients reach weight and bias:", has_gradients)

# At a realistic width the outputs agree up to rounding only: for a 2-D input nn.Linear makes one
# addmm call, while MyLinear rounds the product (mm) and then adds the bias in a second step.
# So compare outputs with a tolerance (assert_close picks one for the dtype).
wide_inputs, wide_outputs = 300, 200
torch.manual_seed(0)
wide_mine = MyLinear(wide_inputs, wide_outputs).to(device)
torch.manual_seed(0)
wide_reference = nn.Linear(wide_inputs, wide_outputs).to(device)
wide_x = torch.randn(64, wide_inputs).to(device)
with torch.no_grad():
    wide_out, wide_expected = wide_mine(wide_x), wide_reference(wide_x)
largest_difference = (wide_out - wide_expected).abs().max().item()
try:
    torch.testing.assert_close(wide_out, wide_expected)
    same_outputs = True
except AssertionError:
    same_outputs = False
print(
    f"{wide_inputs} -> {wide_outputs}: outputs close: {same_outputs}, "
    f"largest difference {largest_difference:.1e}"
)
# Where the two results part depends on the CPU's matrix kernels, so it is printed, not asserted:
# does addmm with a zero bias give mm's product bit for bit, and does the bias step alone differ?
# (Asked of CPU copies on every device: on CUDA, addmm hands a 1-D bias to cuBLASLt's epilogue.)
with torch.no_grad():
    W, b = wide_reference.weight.cpu(), wide_reference.bias.cpu()
    cpu_x = wide_x.cpu()
    cpu_linear_is_addmm = torch.equal(nn.functional.linear(cpu_x, W, b), torch.addmm(b, cpu_x, W.T))
    cpu_product_is_mm = torch.equal(torch.addmm(torch.zeros_like(b), cpu_x, W.T), cpu_x @ W.T)
    cpu_bias_step_differs = not torch.equal(torch.addmm(b, cpu_x, W.T), cpu_x @ W.T + b)
    # On the layer's own device: is nn.Linear's output addmm's, and is addmm's product mm's?
    Wd, bd = wide_reference.weight, wide_reference.bias
    linear_is_addmm = torch.equal(wide_expected, torch.addmm(bd, wide_x, Wd.T))
    product_is_mm = torch.equal(torch.addmm(torch.zeros_like(bd), wide_x, Wd.T), wide_x @ Wd.T)
print(
    f"CPU: nn.Linear is addmm: {cpu_linear_is_addmm}; addmm's product is mm's: "
    f"{cpu_product_is_mm}; the bias step differs: {cpu_bias_step_differs}"
)
if device.type != "cpu":
    print(f"{device.type}: nn.Linear is addmm: {linear_is_addmm}; product is mm's: {product_is_mm}")

# The device argument lets the layer be built on meta, and lets skip_init build it uninitialized.
on_meta = MyLinear(5, 3, device="meta").weight.is_meta
skipped = nn.utils.skip_init(MyLinear, 5, 3, device=device)
print("built on meta:", on_meta, " skip_init works:", skipped.weight.device.type == device.type)

assert parameter_names == "weight, bias"  # witness: assigning-registers
assert parameter_count == 5 * 3 + 3 == 18 and weight_shape == (3, 5)
assert same_initial_values  # witness: same-initial-values
assert same_outputs  # witness: same-outputs
assert cpu_linear_is_addmm  # witness: cpu-linear-is-addmm
if device.type == "cuda":
    assert linear_is_addmm  # witness: cuda-linear-is-addmm
assert has_gradients  # witness: gradients-reach-parameters
assert on_meta and skipped.weight.device.type == device.type  # witness: device-argument
assert "in_features=5, out_features=3" in repr(mine)  # witness: extra-repr

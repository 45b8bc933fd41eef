"""Reading parameters through .data in forward cuts them out of autograd: they never learn."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class DataLinear(nn.Module):
    """The bug: forward uses weight.data and bias.data (as D2L's MyLinear does)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / in_features**0.5)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.data.T + self.bias.data  # .data: a tensor autograd does not track


class FixedLinear(DataLinear):
    """The fix: use the parameters themselves."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias


def train_one_step(layer_class: type) -> tuple[nn.Sequential, bool, bool]:
    """Build layer_class(5, 3) -> ReLU -> Linear(3, 1), take one SGD step; report on the
    custom layer."""
    torch.manual_seed(0)
    model = nn.Sequential(layer_class(5, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
    before = model[0].weight.detach().clone()
    loss = model(torch.randn(8, 5).to(device)).pow(2).mean()
    loss.backward()  # no error: the last layer still needs gradients
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    return model, model[0].weight.grad is None, torch.equal(before, model[0].weight)


buggy, buggy_grad_is_none, buggy_unchanged = train_one_step(DataLinear)
last_layer_has_grad = buggy[2].weight.grad is not None
print(
    f"with .data: custom weight.grad is None: {buggy_grad_is_none}, "
    f"unchanged by the step: {buggy_unchanged}"
)
print(f"            (the nn.Linear after it does get a gradient: {last_layer_has_grad})")

fixed, fixed_grad_is_none, fixed_unchanged = train_one_step(FixedLinear)
print(
    f"fixed:      custom weight.grad is None: {fixed_grad_is_none}, "
    f"unchanged by the step: {fixed_unchanged}"
)

# .data is a new tensor on the parameter's memory, detached from it: autograd does not connect it
# to the parameter. Even made to require a gradient, it keeps the gradient for itself.
weight = buggy[0].weight
data = weight.data
data_shares_memory = data is not weight and data.data_ptr() == weight.data_ptr()
data_needs_no_grad = weight.requires_grad and not data.requires_grad
probe = nn.Parameter(torch.randn(3, 5).to(device))
probe_data = probe.data.requires_grad_()
(torch.randn(2, 5).to(device) @ probe_data.T).sum().backward()
data_keeps_gradient = probe_data.grad is not None and probe.grad is None
print(f".data made to require a gradient gets one, and the parameter none: {data_keeps_gradient}")

# Used on its own, the buggy layer produces an output with no graph at all, and backward says so.
alone_output = DataLinear(5, 3)(torch.randn(2, 5))
try:
    alone_output.sum().backward()
except RuntimeError as error:
    alone_message = str(error)
    print(f"alone: {type(error).__name__}: {alone_message}")

# With an input that requires a gradient, backward runs, and the weight still gets none.
x_with_grad = torch.randn(2, 5, requires_grad=True)
alone_layer = DataLinear(5, 3)
alone_layer(x_with_grad).sum().backward()
input_grad_only = x_with_grad.grad is not None and alone_layer.weight.grad is None
print("alone, input requiring a gradient: backward runs, only the input gets one:", input_grad_only)

# Changed in place before backward: .data escapes the version check (grad 2 * 2, not 2 * 1).
p = nn.Parameter(torch.ones(3, device=device))
loss = (p * p).sum()  # saves p
p.data.mul_(2)
loss.backward()
data_grad_uses_new = torch.equal(p.grad, 4 * torch.ones_like(p))
loss = (p * p).sum()
p.detach().mul_(2)
try:
    loss.backward()
except RuntimeError as error:
    detach_message = str(error).split(":")[0]
print(f"in place via .data: grad {p.grad.tolist()}; via .detach(): {detach_message}")

assert data_shares_memory and data_keeps_gradient  # witness: data-detached
assert data_needs_no_grad  # witness: data-no-grad
assert buggy_grad_is_none and buggy_unchanged  # witness: data-never-learns
assert last_layer_has_grad  # witness: next-layer-learns
assert not alone_output.requires_grad  # witness: alone-no-graph
assert "does not require grad" in alone_message  # witness: alone-fails
assert input_grad_only  # witness: input-grad-hides-bug
assert data_grad_uses_new and "inplace" in detach_message  # witness: data-escapes-check
assert not fixed_grad_is_none and not fixed_unchanged  # witness: fix-learns

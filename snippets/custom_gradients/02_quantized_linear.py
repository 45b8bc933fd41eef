"""A Linear layer with weights rounded to a grid: the Function inside an nn.Module."""

import io

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class QuantizedLinear(nn.Module):
    """Stores full-precision weights; computes with weights rounded to multiples of `step`."""

    def __init__(self, in_features: int, out_features: int, step: float = 0.25) -> None:
        super().__init__()
        self.step = step
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reference = nn.Linear(self.weight.shape[1], self.weight.shape[0])  # same init as Linear
        with torch.no_grad():
            self.weight.copy_(reference.weight)
            self.bias.copy_(reference.bias)

    def quantized_weight(self) -> torch.Tensor:
        return RoundSTE.apply(self.weight / self.step) * self.step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)


class PlainRoundLinear(QuantizedLinear):
    """The same layer with torch.round: what plain autograd gives."""

    def quantized_weight(self) -> torch.Tensor:
        return torch.round(self.weight / self.step) * self.step


def one_step(
    layer_class: type, weight_decay: float = 0.0
) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    layer = layer_class(4, 3).to(device)
    x = torch.randn(8, 4).to(device)
    before, bias_before = layer.weight.detach().clone(), layer.bias.detach().clone()
    layer(x).pow(2).mean().backward()
    torch.optim.SGD(layer.parameters(), lr=0.1, weight_decay=weight_decay).step()
    return layer, before, bias_before, x


layer, before, _, x = one_step(QuantizedLinear)
grid_step = layer.step
ste_grad_nonzero = bool(layer.weight.grad.abs().sum() > 0)
plain, plain_before, plain_bias_before, _ = one_step(PlainRoundLinear)

state_keys = ", ".join(layer.state_dict())
parameter_count = sum(p.numel() for p in layer.parameters())
print("state_dict keys:", state_keys, f"({parameter_count} numbers)")
print("stored weight, first row:   ", [round(v, 3) for v in layer.weight[0].tolist()])
# + 0.0 prints -0.0 as 0.0
print("quantized weight, first row:", [v + 0.0 for v in layer.quantized_weight()[0].tolist()])
print("plain round: weight.grad is all zero:", bool(plain.weight.grad.eq(0).all()))
print("plain round: weight changed by the step:", not torch.equal(plain_before, plain.weight))
print("plain round: bias changed by the step:  ", not torch.equal(plain_bias_before, plain.bias))
print("RoundSTE:    weight changed by the step:", not torch.equal(before, layer.weight))
# Every stored weight moved a little; few moved far enough to round to another grid point.
all_moved = bool(before.ne(layer.weight).all())
move = (layer.weight.detach() - before).abs() / grid_step  # in grid steps
largest_move = round(move.max().item(), 1)
crossed = int(torch.round(before / grid_step).ne(torch.round(layer.weight / grid_step)).sum())
weight_count = layer.weight.numel()
print("RoundSTE:    largest move, in grid steps:", largest_move)
print("RoundSTE:    rounded weights that changed:", crossed, "of", weight_count)

# SGD's weight decay acts on any .grad that is a tensor, zeros included: the weight shrinks anyway.
decayed, decayed_before, _, _ = one_step(PlainRoundLinear, weight_decay=0.1)
only_shrunk = torch.allclose(decayed.weight, decayed_before * (1 - 0.1 * 0.1))
print("plain round, weight_decay=0.1: weight multiplied by 1 - lr * decay:", only_shrunk)
# A .grad of None is skipped: the same step with decay leaves such a weight alone.
none_grad = decayed.weight.detach().clone().requires_grad_()
torch.optim.SGD([none_grad], lr=0.1, weight_decay=0.1).step()
skipped = none_grad.grad is None and torch.equal(none_grad, decayed.weight)
print("the same step on a weight whose .grad is None changes it:", not skipped)

# The STE gradient is the gradient an ordinary Linear would get at the rounded weights.
torch.manual_seed(0)
check = QuantizedLinear(4, 3).to(device)
rounded_leaf = check.quantized_weight().detach().requires_grad_()
F.linear(x, rounded_leaf, check.bias).pow(2).mean().backward()
check.zero_grad()
check(x).pow(2).mean().backward()
ste_is_linear_grad = torch.allclose(check.weight.grad, rounded_leaf.grad)

# Same names as nn.Linear, so checkpoints move between the two.
buffer = io.BytesIO()
torch.save(layer.state_dict(), buffer)
buffer.seek(0)
linear = nn.Linear(4, 3).to(device)
load_result = linear.load_state_dict(torch.load(buffer, weights_only=True))
loads_into_linear = torch.equal(linear.weight, layer.weight)
print("loads into nn.Linear:", loads_into_linear)
# The loaded nn.Linear computes with the stored weights, not the rounded ones.
with torch.no_grad():
    unrounded = torch.allclose(linear(x), F.linear(x, layer.weight, layer.bias))
    outputs_differ = not torch.allclose(linear(x), layer(x))
print("nn.Linear gives the same outputs as the layer:", not outputs_differ)

assert state_keys == "weight, bias" and parameter_count == 15  # witness: parameters-register
assert plain.weight.grad is not None and plain.weight.grad.eq(0).all()  # witness: plain-zero-grad
assert torch.equal(plain_before, plain.weight)  # witness: plain-never-learns
decayed_zero_grad = decayed.weight.grad is not None and decayed.weight.grad.eq(0).all()
assert decayed_zero_grad and only_shrunk  # witness: decay-still-shrinks
assert skipped  # witness: none-grad-skipped
bias_grad_nonzero = bool(plain.bias.grad.abs().sum() > 0)
assert bias_grad_nonzero and not torch.equal(plain_bias_before, plain.bias)  # witness: bias-learns
assert ste_is_linear_grad  # witness: ste-grad-is-linear-grad
assert ste_grad_nonzero and not torch.equal(before, layer.weight)  # witness: ste-learns
few_crossed = 0 < crossed < weight_count // 2
below_grid = bool(move.max() < 0.5) and bool(move.max() <= largest_move)  # "at most" the claim
assert all_moved and below_grid and few_crossed  # witness: steps-accumulate-below-grid
# The layer computes with its weights rounded to the nearest multiple of 0.25.
with torch.no_grad():
    used = layer.quantized_weight()
    nearest = torch.equal(used, torch.round(layer.weight / 0.25) * 0.25)  # the nearest grid point
    on_grid = nearest and not torch.equal(used, layer.weight)
    computes_with_used = torch.allclose(layer(x), F.linear(x, used, layer.bias))
assert grid_step == 0.25 and on_grid and computes_with_used  # witness: weights-on-grid
assert loads_into_linear and not load_result.missing_keys  # witness: loads-into-linear
assert unrounded and outputs_differ  # witness: linear-uses-unrounded

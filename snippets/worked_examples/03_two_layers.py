"""Two separate bias-free Linear(1, 1) layers that only start equal: each gets its own gradient."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def layer_with_weight(value: float, bias: float | None = None, on=device) -> nn.Linear:
    layer = nn.Linear(1, 1, bias=bias is not None).to(on)
    with torch.no_grad():
        layer.weight.fill_(value)
        if bias is not None:
            layer.bias.fill_(bias)
    return layer


x = torch.tensor([[2.0]], device=device)
target = torch.tensor([[10.0]], device=device)

start = 3.0  # the starting value of every weight below
shared = layer_with_weight(start)
tied = nn.Sequential(shared, shared)
first, second = layer_with_weight(start), layer_with_weight(start)
untied = nn.Sequential(first, second)

tied_output = tied(x)
(tied_output - target).pow(2).sum().backward()
# untied(x), one layer at a time, keeping the gradients that reach h and y_hat
hidden = first(x)
hidden.retain_grad()
untied_output = second(hidden)
untied_output.retain_grad()
(untied_output - target).pow(2).sum().backward()

tied_tensors, untied_tensors = len(list(tied.parameters())), len(list(untied.parameters()))
tied_parameters = sum(p.numel() for p in tied.parameters())
untied_parameters = sum(p.numel() for p in untied.parameters())
tied_grad = shared.weight.grad.item()
first_grad, second_grad = first.weight.grad.item(), second.weight.grad.item()
print(f"tied:   {tied_parameters} parameter, grad {tied_grad:g}")
print(f"untied: {untied_parameters} parameters, grads {first_grad:g} and {second_grad:g}")
# Each untied weight's share: the gradient reaching its output times what it multiplies there.
first_share = hidden.grad.item() * x.item()  # w1 multiplies x; dL/dh reaches its output
second_share = untied_output.grad.item() * hidden.item()  # w2 multiplies h; dL/dy_hat
print(f"own shares: first {first_share:g}, second {second_share:g}")

# One plain gradient step moves the tied weight twice as far.
learning_rate = 0.001
for model in (tied, untied):
    torch.optim.SGD(model.parameters(), lr=learning_rate).step()
tied_after = shared.weight.item()
untied_after, untied_after_second = first.weight.item(), second.weight.item()
print(f"after one SGD step: tied w = {tied_after:.3f}, ", end="")
print(f"untied w = {untied_after:.3f} and {untied_after_second:.3f}")
outputs_differ = tied(x).item() != untied(x).item()


# With a bias of 1 in each layer, even equal weights get different gradients at the start.
biased = nn.Sequential(layer_with_weight(start, bias=1.0), layer_with_weight(start, bias=1.0))
(biased(x) - target).pow(2).sum().backward()
biased_first_grad, biased_second_grad = (layer.weight.grad.item() for layer in biased)
print(f"with biases of 1: grads {biased_first_grad:g} and {biased_second_grad:g}")


def train_untied(first_start: float, second_start: float, x_value=2.0, on=device) -> tuple:
    """Train two separate layers for 50 steps; report the final weights, whether the gradients
    matched at every step, and whether autograd's gradients were, at every step, the products
    (dL/dy_hat * w2) * x and dL/dy_hat * (w1 * x), each product rounded to float32."""
    one, two = layer_with_weight(first_start, on=on), layer_with_weight(second_start, on=on)
    model = nn.Sequential(one, two)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    inputs, goal = torch.tensor([[x_value]], device=on), torch.tensor([[10.0]], device=on)
    grads_always_equal = products_every_step = True
    largest_gap = 0.0  # between the two gradients, relative
    for _ in range(50):
        optimizer.zero_grad()
        output = model(inputs)
        (output - goal).pow(2).sum().backward()
        grads_always_equal &= one.weight.grad.item() == two.weight.grad.item()
        largest_gap = max(largest_gap, abs(one.weight.grad.item() / two.weight.grad.item() - 1))
        d_output = 2 * (output.detach() - goal)  # dL/dy_hat
        w1, w2 = one.weight.detach(), two.weight.detach()
        products_every_step &= torch.equal(one.weight.grad, (d_output * w2) * inputs)
        products_every_step &= torch.equal(two.weight.grad, d_output * (w1 * inputs))
        optimizer.step()
    final = one.weight.item(), two.weight.item()
    return *final, grads_always_equal, products_every_step, largest_gap


equal_start = train_untied(start, start)
unequal_start = train_untied(start, 2.9)
# x = 3 makes the products round; run on the CPU, whose float32 rounding this example shows
rounded_start = train_untied(start, start, x_value=3.0, on=torch.device("cpu"))
runs = (("3 and 3, x = 2:  ", equal_start), ("3 and 2.9, x = 2:", unequal_start))
for starts, (w1, w2, equal, *_) in runs + (("3 and 3, x = 3:  ", rounded_start),):
    print(f"50 steps from {starts} w1 = {w1:.8f}, w2 = {w2:.8f}, equal grads every step: {equal}")

assert (tied_tensors, untied_tensors) == (1, 2)  # witness: one-tensor
assert (tied_parameters, untied_parameters) == (1, 2)
assert torch.equal(tied_output, untied_output)  # witness: same-output
assert tied_grad == first_grad + second_grad == 192
assert first_grad == second_grad == 96
assert (first_grad, second_grad) == (first_share, second_share)  # witness: own-share
assert abs(tied_after - 2.808) < 1e-6 and abs(untied_after - 2.904) < 1e-6
assert abs(untied_after_second - 2.904) < 1e-6
assert outputs_differ  # witness: now-different
assert (biased_first_grad, biased_second_grad) == (144, 168)  # witness: biased-differ
assert equal_start[2] and equal_start[0] == equal_start[1]  # witness: stay-equal
assert equal_start[3] and rounded_start[3]  # witness: two-orders
w1_rounded, w2_rounded, rounded_grads_always_equal, _, rounded_gap = rounded_start
# Whether the weights then end bit for bit equal is not portable: it depends on whether the CPU's
# kernel for the update w - lr * g rounds once (a fused multiply-add) or twice.
last_bits_only = 0 < rounded_gap < 1e-6  # float32 carries about 7 significant digits
weights_close = abs(w1_rounded - w2_rounded) < 1e-6
assert not rounded_grads_always_equal and last_bits_only and weights_close  # witness: rounding
assert not unequal_start[2] and unequal_start[0] != unequal_start[1]  # witness: drift-apart

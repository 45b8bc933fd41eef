"""Two separate Linear(1, 1) layers (bias-free unless stated) that only start equal."""

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


def run_untied(bias: float | None = None) -> tuple:
    """Two layers that start at `start`, run one at a time; return them, their output, and each
    weight's own share: the gradient reaching its output times what it multiplies there."""
    first, second = layer_with_weight(start, bias), layer_with_weight(start, bias)
    hidden = first(x)
    hidden.retain_grad()  # keep the gradients that reach h and y_hat
    output = second(hidden)
    output.retain_grad()
    (output - target).pow(2).sum().backward()
    shares = hidden.grad.item() * x.item(), output.grad.item() * hidden.item()  # dL/dh x, dL/dy h
    return first, second, output, shares


tied_output = tied(x)
(tied_output - target).pow(2).sum().backward()
first, second, untied_output, (first_share, second_share) = run_untied()
untied = nn.Sequential(first, second)

tied_tensors, untied_tensors = len(list(tied.parameters())), len(list(untied.parameters()))
tied_parameters = sum(p.numel() for p in tied.parameters())
untied_parameters = sum(p.numel() for p in untied.parameters())
tied_grad = shared.weight.grad.item()
first_grad, second_grad = first.weight.grad.item(), second.weight.grad.item()
print(f"tied:   {tied_parameters} parameter, grad {tied_grad:g}")
print(f"untied: {untied_parameters} parameters, grads {first_grad:g} and {second_grad:g}")
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
*biased, _, biased_shares = run_untied(bias=1.0)  # the two layers, their output, the shares
biased_first_grad, biased_second_grad = (layer.weight.grad.item() for layer in biased)
print(f"with biases of 1: grads {biased_first_grad:g} and {biased_second_grad:g}, ", end="")
print("own shares {:g} and {:g}".format(*biased_shares))


steps, other_start, rounding_x = 50, 2.9, 3.0  # the runs below: steps, a second start, an x


def train_untied(first_start: float, second_start: float, x_value=2.0, on=device) -> tuple:
    """Train two separate layers for `steps` steps; report the final weights, whether the gradients
    matched at every step, and whether autograd's gradients were, at every step, the products
    (dL/dy_hat * w2) * x and dL/dy_hat * (w1 * x), each product rounded to float32."""
    one, two = layer_with_weight(first_start, on=on), layer_with_weight(second_start, on=on)
    model = nn.Sequential(one, two)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    inputs, goal = torch.tensor([[x_value]], device=on), torch.tensor([[10.0]], device=on)
    grads_always_equal = products_every_step = True
    largest_gap = 0.0  # between the two gradients, relative
    for _ in range(steps):
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
unequal_start = train_untied(start, other_start)
# x = 3 makes the products round; run on the CPU, whose float32 rounding this example shows
rounded_start = train_untied(start, start, x_value=rounding_x, on=torch.device("cpu"))
runs = (("3 and 3, x = 2:  ", equal_start), (f"3 and {other_start}, x = 2:", unequal_start))
for starts, (w1, w2, equal, *_) in runs + ((f"3 and 3, x = {rounding_x:g}:  ", rounded_start),):
    print(
        f"{steps} steps from {starts} w1 = {w1:.8f}, w2 = {w2:.8f}, equal grads every step: {equal}"
    )


def by_hand(rounds_once: bool) -> tuple:
    """The x = 3 run in float32 by hand: the gradients as the products above, and the update
    w - lr * g rounded once, as a fused multiply-add does, or twice (the product rounded first)."""
    w1 = w2 = torch.tensor(start)
    x3, goal, lr = torch.tensor(rounding_x), torch.tensor(10.0), torch.tensor(learning_rate)

    def update(w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        # lr * g is exact in float64, and w - lr * g is rounded there to 53 bits, far finer than
        # float32's 24: rounding that to float32 matches one rounding, except in rare halfway cases.
        if rounds_once:
            return (w.double() - lr.double() * g.double()).float()
        return w - lr * g

    for _ in range(steps):
        d_output = 2 * (w2 * (w1 * x3) - goal)
        w1, w2 = update(w1, (d_output * w2) * x3), update(w2, d_output * (w1 * x3))
    return w1.item(), w2.item()


rounded_once, rounded_twice = by_hand(rounds_once=True), by_hand(rounds_once=False)
print("  by hand, the update rounded once: w1 = {:.8f}, w2 = {:.8f}".format(*rounded_once))
print("  by hand, the update rounded twice: w1 = {:.8f}, w2 = {:.8f}".format(*rounded_twice))
print("  the CPU kernels ATen used:", torch.backends.cpu.get_cpu_capability())

assert (tied_tensors, untied_tensors) == (1, 2)  # witness: one-tensor
assert (tied_parameters, untied_parameters) == (1, 2)
assert torch.equal(tied_output, untied_output)  # witness: same-output
assert tied_grad == first_grad + second_grad == 192
assert first_grad == second_grad == 96
own_shares = (first_grad, second_grad) == (first_share, second_share)
assert own_shares and (biased_first_grad, biased_second_grad) == biased_shares  # witness: own-share
assert abs(tied_after - 2.808) < 1e-6 and abs(untied_after - 2.904) < 1e-6
assert abs(untied_after_second - 2.904) < 1e-6
assert outputs_differ  # witness: now-different
assert (biased_first_grad, biased_second_grad) == (144, 168)  # witness: biased-differ
assert equal_start[2] and equal_start[0] == equal_start[1]  # witness: stay-equal
assert equal_start[3] and rounded_start[3]  # witness: two-orders
w1_rounded, w2_rounded, rounded_grads_always_equal, _, rounded_gap = rounded_start
last_bits_only = 0 < rounded_gap < 1e-6  # float32 carries about 7 significant digits
weights_close = abs(w1_rounded - w2_rounded) < 1e-6
assert not rounded_grads_always_equal and last_bits_only and weights_close  # witness: rounding
assert not unequal_start[2] and unequal_start[0] != unequal_start[1]  # witness: drift-apart
# Whether the weights then end bit for bit equal depends on how the update w - lr * g rounds.
twice_equal, once_apart = rounded_twice[0] == rounded_twice[1], rounded_once[0] != rounded_once[1]
this_cpu = (w1_rounded, w2_rounded) in (rounded_once, rounded_twice)
assert twice_equal and once_apart and this_cpu  # witness: update-rounding

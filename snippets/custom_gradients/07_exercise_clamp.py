"""Exercise: a clamp whose gradient can pull a value back into the range."""

import torch
from torch.autograd import gradcheck

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class ReturningClamp(torch.autograd.Function):
    """clamp(x, low, high); outside the range, keep only gradients that point back inside."""

    @staticmethod
    def forward(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return x.clamp(low, high)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        x, low, high = inputs
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high  # plain numbers are stored on ctx directly

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        # A descent step moves x by -grad: above the range keep grad > 0, below keep grad < 0.
        too_high = (x > ctx.high) & (grad_output < 0)
        too_low = (x < ctx.low) & (grad_output > 0)
        grad_x = grad_output.masked_fill(too_high | too_low, 0.0)
        return grad_x, None, None  # one entry per input of forward; None for the numbers


def train(clamp, start: float, target: float = 0.5, steps: int = 20) -> tuple[list, float]:
    weight = torch.tensor([start]).to(device).requires_grad_()
    optimizer = torch.optim.SGD([weight], lr=0.5)
    path = []  # the weight after each step
    for _ in range(steps):
        optimizer.zero_grad()
        (clamp(weight) - target).pow(2).sum().backward()
        optimizer.step()
        path.append(weight.item())
    return path, weight.grad.item()  # the weight's path and the last gradient


plain_path, plain_grad = train(lambda w: torch.clamp(w, -1.0, 1.0), start=3.0)
returning_path, _ = train(lambda w: ReturningClamp.apply(w, -1.0, 1.0), start=3.0)
plain_end, returning_end = plain_path[-1], returning_path[-1]
print(f"torch.clamp:    weight starts at 3.0, ends at {plain_end:.3f}")
print(f"ReturningClamp: weight starts at 3.0, ends at {returning_end:.3f}")
print("ReturningClamp, first five steps:", returning_path[:5])

# Inside the range the custom gradient is the true one, and gradcheck agrees.
inside = torch.tensor([-0.7, 0.1, 0.9], dtype=torch.float64).to(gradcheck_device)
inside.requires_grad_()
inside_passes = gradcheck(lambda x: ReturningClamp.apply(x, -1.0, 1.0), (inside,))
print("gradcheck inside the range:", inside_passes)

# Outside the range, assert the surrogate gradient itself: at 3.0, +1 passes and -1 is zeroed.
above = torch.tensor([3.0, 3.0]).to(device).requires_grad_()
ReturningClamp.apply(above, -1.0, 1.0).backward(torch.tensor([1.0, -1.0]).to(device))


class ForgetsTheBounds(ReturningClamp):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output  # one entry for three inputs


try:
    weight = torch.tensor([3.0]).to(device).requires_grad_()
    ForgetsTheBounds.apply(weight, -1.0, 1.0).sum().backward()
    count_message = ""
except RuntimeError as error:
    count_message = str(error)
print("a backward with one entry:", count_message)

assert plain_grad == 0.0 and plain_end == 3.0  # witness: plain-clamp-stuck
assert abs(returning_end - 0.5) < 1e-3  # witness: returning-clamp-recovers
# Outside the range the gradient is 2 * (1 - 0.5) = 1: steps of 0.5 back to the edge, at 1.0;
# from either edge, w - 0.5 * 2 * (w - 0.5) is exactly 0.5: no step of it needs rounding.
from_other_edge, _ = train(lambda w: ReturningClamp.apply(w, -1.0, 1.0), start=-1.0, steps=1)
lands_from_edges = returning_path[:5] == [2.5, 2.0, 1.5, 1.0, 0.5] and from_other_edge == [0.5]
assert lands_from_edges  # witness: one-step-from-edge
# From -0.7 inside the range, w - 0.5 rounds in float32, and the step lands one float32 step off.
from_inside, _ = train(lambda w: ReturningClamp.apply(w, -1.0, 1.0), start=-0.7, steps=1)
assert from_inside != [0.5] and abs(from_inside[0] - 0.5) < 1e-7  # witness: inside-rounding-step
assert inside_passes  # witness: inside-matches
surrogate_above = above.grad.tolist() == [1.0, 0.0]
assert surrogate_above  # witness: outside-surrogate
assert "returned an incorrect number of gradients" in count_message  # witness: one-per-input

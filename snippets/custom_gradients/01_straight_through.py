"""A straight-through estimator: round in forward, pass the gradient through unchanged."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class RoundSTE(torch.autograd.Function):
    """round(x) forward; backward pretends the forward was the identity."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)  # runs with autograd switched off: nothing here is recorded

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass  # nothing to save: the backward does not need the input or the output

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output  # one gradient per input of forward


values = torch.tensor([-1.6, 0.2, 0.7, 1.4, 2.8]).to(device)
upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).to(device)  # a different weight per value


def loss(rounded: torch.Tensor) -> torch.Tensor:
    return (rounded * upstream).sum()  # so the gradient arriving at `rounded` is `upstream`


plain_x = values.clone().requires_grad_()
loss(torch.round(plain_x)).backward()  # plain autograd: the derivative of round
jumps = torch.tensor([-0.5, 0.5, 1.5], device=device, requires_grad=True)  # where round jumps
grad_at_jumps = torch.autograd.grad(torch.round(jumps).sum(), jumps)[0]

ste_x = values.clone().requires_grad_()
rounded = RoundSTE.apply(ste_x)  # always call apply, never forward
loss(rounded).backward()
node_name = type(rounded.grad_fn).__name__


class ProbedRoundSTE(RoundSTE):  # a probe, so that RoundSTE itself stays free of side effects
    grad_modes = []  # torch.is_grad_enabled() at each run of forward

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        ProbedRoundSTE.grad_modes.append(torch.is_grad_enabled())
        return RoundSTE.forward(x)


grad_on_outside = torch.is_grad_enabled()  # grad mode at the call
ProbedRoundSTE.apply(values.clone().requires_grad_())
forward_ran_without_grad = ProbedRoundSTE.grad_modes == [False]  # one run, with grad mode off

direct_x = values.clone().requires_grad_()
direct = RoundSTE.forward(direct_x)  # forward alone: ordinary autograd records torch.round
loss(direct).backward()  # so the custom backward is not used

print("rounded:          ", rounded.tolist())
print("incoming gradient:", upstream.tolist())
print("torch.round grad: ", plain_x.grad.tolist())
print("RoundSTE grad:    ", ste_x.grad.tolist())
print("forward() grad:   ", direct_x.grad.tolist())
print("graph node:       ", node_name)

assert torch.equal(rounded, torch.round(values))  # witness: forward-rounds
zero_everywhere = not plain_x.grad.any() and not grad_at_jumps.any()
assert zero_everywhere  # witness: round-has-zero-grad
assert torch.equal(ste_x.grad, upstream)  # witness: ste-passes-through
assert node_name == "RoundSTEBackward"  # witness: node-named-after-class
assert grad_on_outside and forward_ran_without_grad  # witness: forward-without-grad
recorded_round = type(direct.grad_fn).__name__ == "RoundBackward0"  # torch.round's own node
direct_zero = torch.count_nonzero(direct_x.grad) == 0
assert recorded_round and direct_zero  # witness: forward-directly-skips-backward

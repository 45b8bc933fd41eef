"""Backward hooks on a layer that is called twice: on the module, and on its weight."""

import warnings

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
first = nn.Linear(3, 4).to(device)
shared = nn.Linear(4, 4).to(device)  # used twice in the forward pass
x = torch.randn(5, 3).to(device)

module_calls = []  # what the module hook sees, one entry per call
weight_calls = []  # what the tensor hook sees


def module_hook(module: nn.Module, grad_input: tuple, grad_output: tuple) -> None:
    """Gradients with respect to the module's inputs and outputs (not its parameters)."""
    module_calls.append([g.clone() for g in grad_input + grad_output])


def weight_hook(grad: torch.Tensor) -> None:
    weight_calls.append(grad.clone())


module_handle = shared.register_full_backward_hook(module_hook)
weight_handle = shared.weight.register_hook(weight_hook)
a = first(x)
b = shared(a)
c = shared(b)
unused = shared(first(x))  # a third call, whose output never reaches the loss
for t in (a, b, c):
    t.retain_grad()  # keep the gradients of these tensors, to compare with what the hook saw
c.sum().backward()
module_handle.remove()
weight_handle.remove()
module_hook_calls = len(module_calls)
weight_hook_calls = len(weight_calls)

print("module hook calls for 3 calls:", module_hook_calls, "- shapes of (grad_input, grad_output):")
for grads in module_calls:
    print("   ", [tuple(g.shape) for g in grads])
print("weight hook calls:", weight_hook_calls)

# The weight hook saw the sum of both uses: compare with two separate copies of the layer.
copy_a, copy_b = nn.Linear(4, 4).to(device), nn.Linear(4, 4).to(device)
copy_a.load_state_dict(shared.state_dict())
copy_b.load_state_dict(shared.state_dict())
copy_b(copy_a(first(x).detach())).sum().backward()
summed = copy_a.weight.grad + copy_b.weight.grad
print("hook saw copy_a + copy_b:", torch.allclose(weight_calls[0], summed))

# A module hook that returns new input gradients changes what flows to earlier layers only.
first.zero_grad()
shared.zero_grad()
seen_outputs = []  # grad_output at each firing: the outer call first, then the inner one


def zero_outer(module: nn.Module, grad_input: tuple, grad_output: tuple) -> tuple | None:
    seen_outputs.append(grad_output[0].clone())
    return (torch.zeros_like(grad_input[0]),) if len(seen_outputs) == 1 else None  # outer only


handle = shared.register_full_backward_hook(zero_outer)
shared(shared(first(x))).sum().backward()
handle.remove()
inner_got_zero = bool(seen_outputs[1].eq(0).all())
outer_keeps_own = torch.allclose(shared.weight.grad, copy_b.weight.grad)
first_got_zero = bool(first.weight.grad.eq(0).all())
print("after zeroing grad_input: first.weight.grad is zero:", first_got_zero)
print("shared.weight.grad is the outer call's share alone:", outer_keeps_own)


# A weight passed in as an input is in grad_input, so a hook that zeroes grad_input zeroes it too.
class MatMul(nn.Module):
    def forward(self, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return a @ w


grad_input_sizes = []


def zero_inputs(module: nn.Module, grad_input: tuple, grad_output: tuple) -> tuple:
    grad_input_sizes.append(len(grad_input))
    return tuple(map(torch.zeros_like, grad_input))


matmul = MatMul()
handle = matmul.register_full_backward_hook(zero_inputs)
w_input = shared.weight.detach().clone().requires_grad_()
matmul(first(x), w_input).sum().backward()
# Passed by keyword, the weight is left out of grad_input, and the hook cannot zero its gradient.
w_keyword = shared.weight.detach().clone().requires_grad_()
matmul(first(x), w=w_keyword).sum().backward()
handle.remove()
input_weight_zeroed = bool(w_input.grad.eq(0).all())
keyword_kept = bool(w_keyword.grad.ne(0).any())
print("a weight passed in as an input: its grad is zero:", input_weight_zeroed)
print("passed by keyword: grad is zero:", not keyword_kept, "- len(grad_input):", grad_input_sizes)

# The input of a first layer needs no gradient: its entry in grad_input is None, and PyTorch warns.
first_grad_inputs = []
handle = first.register_full_backward_hook(lambda m, gi, go: first_grad_inputs.append(gi))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    first(x).sum().backward()
handle.remove()
print("hook on first, whose input x needs no gradient: grad_input =", first_grad_inputs[0])
# Next to an input that needs a gradient, one that needs none gets zeros, with no warning.
mixed_grad_inputs = []
handle = matmul.register_full_backward_hook(lambda m, gi, go: mixed_grad_inputs.append(gi))
with warnings.catch_warnings(record=True) as caught_mixed:
    warnings.simplefilter("always")
    matmul(first(x), shared.weight.detach()).sum().backward()  # the weight needs no gradient
handle.remove()
w_entry = mixed_grad_inputs[0][1]
zeros_for_w = w_entry is not None and not w_entry.any() and not caught_mixed


# Reentrant checkpointing runs the backward of the checkpointed call as a backward pass of its own.
reentrant_grads, reentrant_passes = [], set()


def reentrant_hook(grad: torch.Tensor) -> None:
    reentrant_grads.append(grad)
    # private, used here only to tell the backward passes apart: the id of the running one
    reentrant_passes.add(torch._C._current_graph_task_id())


weight_handle = shared.weight.register_hook(reentrant_hook)
shared(checkpoint(shared, first(x), use_reentrant=True)).sum().backward()  # its first call
weight_handle.remove()
calls, passes = len(reentrant_grads), len(reentrant_passes)
print(f"weight hook, first call checkpointed (reentrant): {calls} calls in {passes} passes")

assert module_hook_calls == 2  # witness: module-per-call
outer, inner = module_calls  # backward reaches the outer call, shared(b), first
seen = [torch.equal(g, t.grad) for g, t in zip(outer + inner, (b, c, a, b))]
assert all(seen) and len(outer) == len(inner) == 2  # witness: module-sees-input-output
assert weight_hook_calls == 1  # witness: tensor-hook-once
assert torch.allclose(weight_calls[0], summed)  # witness: tensor-hook-sum
assert outer_keeps_own and input_weight_zeroed  # witness: module-hook-spares-params
assert first_got_zero and inner_got_zero  # witness: module-hook-changes-upstream
assert unused.grad_fn is not None and module_hook_calls == 2  # witness: unused-call-no-hook
per_pass = len(reentrant_grads) == len(reentrant_passes) == 2  # one call in each of two passes
shares_add_up = torch.allclose(sum(reentrant_grads), weight_calls[0])
assert per_pass and shares_add_up  # witness: reentrant-hook-twice
assert grad_input_sizes == [2, 1] and keyword_kept  # witness: keyword-left-out
warned = any("no inputs require gradients" in str(w.message) for w in caught)
assert first_grad_inputs == [(None,)] and warned  # witness: no-grad-input-none
assert zeros_for_w  # witness: mixed-input-zeros

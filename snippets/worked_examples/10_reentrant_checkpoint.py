"""The tied layer again, its second use under a checkpoint: reentrant, and not."""

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def backward_through_checkpoint(use_reentrant: bool) -> tuple:
    """y_hat = w * (w * x), its second use checkpointed; return what the hooks on w saw."""
    layer = nn.Linear(1, 1, bias=False).to(device)
    with torch.no_grad():
        layer.weight.fill_(3.0)
    x = torch.tensor([[2.0]], device=device)
    target = torch.tensor([[10.0]], device=device)
    hook_calls, writes_to_grad = [], []
    layer.weight.register_hook(lambda grad: hook_calls.append(grad.item()))
    layer.weight.register_post_accumulate_grad_hook(lambda p: writes_to_grad.append(p.grad.item()))
    hidden = layer(x)  # first use: recorded in the graph
    # Second use: the checkpoint frees what its backward needs and runs the layer again for it.
    y_hat = checkpoint(layer, hidden, use_reentrant=use_reentrant)
    (y_hat - target).pow(2).sum().backward()
    print(f"use_reentrant={use_reentrant}: hook on w called with {hook_calls}, ", end="")
    print(f".grad holds {writes_to_grad} after each write")
    return hook_calls, writes_to_grad, layer.weight.grad.item()


# Reentrant: the second use runs without a graph. During backward it runs again with a graph of
# its own, and a backward of its own runs on that graph, inside the outer one. That nested
# backward writes the second use's part (96) into .grad first.
reentrant = backward_through_checkpoint(use_reentrant=True)
first_write, second_write = reentrant[1]
# Not reentrant: the second use stays in the outer graph (only the tensors its backward needs are
# recomputed), so the two parts meet before .grad, as without a checkpoint.
non_reentrant = backward_through_checkpoint(use_reentrant=False)

assert reentrant[:2] == ([96, 96], [96, 192])  # witness: one-write-per-backward
assert non_reentrant[:2] == ([192], [192])  # witness: non-reentrant-once
assert reentrant[2] == non_reentrant[2] == 192  # witness: same-sum

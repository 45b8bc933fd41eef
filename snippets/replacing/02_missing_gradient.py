"""An optimizer step leaves a tensor whose .grad is None as it was; L-BFGS fills in zeros; and a
weight replaced after a step keeps its old .grad until optimizer.zero_grad() clears it."""

import inspect

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def keeps_none_grad(name: str) -> tuple[bool, bool, bool]:
    """Does a step of torch.optim.<name> leave a tensor whose .grad is None as it was? Has the
    optimizer weight decay, and does it move a tensor whose .grad is zeros?"""
    used, unused, zeroed = (nn.Parameter(torch.ones(2, 2, device=device)) for _ in range(3))
    # The loss is (used**2).sum(), read through an embedding lookup of both rows: with
    # sparse=True the gradient is sparse, the only kind SparseAdam takes.
    rows = torch.arange(2, device=device)
    nn.functional.embedding(rows, used, sparse=name == "SparseAdam").square().sum().backward()
    optimizer_class = getattr(torch.optim, name)
    # With weight decay, an optimizer that took the missing .grad for zeros would move unused.
    has_decay = "weight_decay" in inspect.signature(optimizer_class).parameters
    params = [used, unused]
    if has_decay:  # a control: a .grad of zeros, which weight decay turns into a step
        zeroed.grad = torch.zeros_like(zeroed)
        params.append(zeroed)
    optimizer_class(params, **({"weight_decay": 0.1} if has_decay else {})).step()
    changed = [not torch.equal(p.detach(), torch.ones_like(p)) for p in (used, unused, zeroed)]
    return unused.grad is None and changed[:2] == [True, False], has_decay, changed[2]


# Every optimizer in torch.optim but L-BFGS, which needs a closure and comes below.
names = [n for n in torch.optim.__all__ if n[0].isupper() and n not in ("Optimizer", "LBFGS")]
none_grad_kept = {name: keeps_none_grad(name) for name in names}
kept_by = ", ".join(name for name, (kept, _, _) in none_grad_kept.items() if kept)
print("a tensor whose .grad is None stays as it was under:", kept_by)
decayed = [name for name, (_, has_decay, _) in none_grad_kept.items() if has_decay]
zeros_moved = [name for name, (_, _, moved) in none_grad_kept.items() if moved]
decayed_count, optimizer_count = len(decayed), len(names)
undecayed = sorted(set(names) - set(decayed))  # the optimizers without weight decay
print(f"with weight decay ({decayed_count} of {optimizer_count}),", end=" ")
print("one whose .grad is zeros moved:", end=" ")
print(zeros_moved == decayed)

# SparseAdam refuses a dense gradient, which is why keeps_none_grad gives it a sparse one.
dense = nn.Parameter(torch.ones(2, device=device))
dense.grad, dense_message = torch.ones_like(dense), ""
try:
    torch.optim.SparseAdam([dense]).step()
except RuntimeError as error:
    dense_message = str(error)
sparse_only = dense_message.startswith("SparseAdam does not support dense gradients")

# L-BFGS does not skip: it gathers all gradients into one vector, with zeros for a None.
used = nn.Parameter(torch.ones(2, device=device))
unused = nn.Parameter(torch.ones(3, device=device))  # left out of the loss: its .grad stays None
lbfgs = torch.optim.LBFGS([used, unused], max_iter=1)  # at most one iteration per step()
with_unused = False  # put unused into the loss?


def closure() -> torch.Tensor:
    lbfgs.zero_grad()
    loss = (used**2).sum() + (unused.sum() if with_unused else 0)
    loss.backward()
    return loss


lbfgs.step(closure)
flat_grad = lbfgs.state[used]["prev_flat_grad"].tolist()  # gradients of used, then unused
lbfgs.step(closure)
lbfgs_kept = unused.grad is None and torch.equal(unused.detach(), torch.ones(3, device=device))
print("L-BFGS, unused.grad", unused.grad, "| its flat gradient:", flat_grad)
print("  unused as it was after two steps:", lbfgs_kept)
# A step with unused in the loss, then one without.
with_unused = True
lbfgs.step(closure)
had_grad = unused.grad is not None and bool(unused.grad.any())
with_unused, before = False, unused.detach().clone()
lbfgs.step(closure)
no_grad_now = unused.grad is None and not lbfgs.state[used]["prev_flat_grad"][2:].any()
history_moved = had_grad and no_grad_now and not torch.equal(unused.detach(), before)
print("  a step with unused in the loss, then one without: that one moved unused:", history_moved)

# A weight replaced after a step keeps its last .grad: model.zero_grad() no longer reaches it, so
# every step moves it again. optimizer.zero_grad() does reach it.
x = torch.ones(1, 2, device=device)
layer = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
layer(x).sum().backward()
optimizer.step()  # some training
old_weight = layer.weight
layer.weight = nn.Parameter(torch.full((1, 2), 0.5).to(device))  # a new tensor object
before, last_grad = old_weight.detach().clone(), old_weight.grad.clone()
layer.zero_grad()
layer(x).sum().backward()
grad_kept = torch.equal(old_weight.grad, last_grad)  # model.zero_grad() did not reach it
optimizer.step()
stale_moved = grad_kept and not torch.equal(old_weight.detach(), before)
# set_to_none=False leaves a .grad of zeros, and the momentum buffer that the earlier steps left
# turns it into a step.
optimizer.zero_grad(set_to_none=False)
zeroed = not old_weight.grad.any()
buffer_left = bool(optimizer.state[old_weight]["momentum_buffer"].any())  # nonzero: from before
before = old_weight.detach().clone()
layer(x).sum().backward()
optimizer.step()
still_zeros = zeroed and not old_weight.grad.any()  # backward added nothing to it
zeros_stepped = still_zeros and not torch.equal(old_weight.detach(), before)
optimizer.zero_grad()  # set_to_none=True, the default
stale_reset = old_weight.grad is None
print("replaced after a step: after model.zero_grad(), the old weight still has a .grad", end=" ")
print(f"and the step moved it: {stale_moved}")
print("  after optimizer.zero_grad(set_to_none=False), earlier momentum moved it:", end=" ")
print(zeros_stepped, end="; ")
print(f"optimizer.zero_grad() set its .grad to None: {stale_reset}")

kept_all = all(kept for kept, _, _ in none_grad_kept.values())
assert optimizer_count == 14 and kept_all  # witness: none-grad-kept
assert zeros_moved == decayed and decayed_count == 12  # witness: zeros-would-move
assert undecayed == ["Rprop", "SparseAdam"]  # witness: no-decay
assert sparse_only  # witness: sparse-adam-dense-refused
assert unused.grad is None and flat_grad == [2, 2, 0, 0, 0]  # witness: lbfgs-zeros
assert lbfgs_kept  # witness: lbfgs-kept
assert history_moved  # witness: lbfgs-history-moves
assert stale_moved and stale_reset  # witness: stale-grad-moves
assert zeros_stepped and buffer_left  # witness: zeros-grad-moves

"""Freezing mid-training: when does an optimizer still move a frozen parameter?"""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def frozen_layer_moves(
    set_to_none: bool, rebuild_optimizer: bool, weight_decay: float = 0.01
) -> tuple[bool, bool, int]:
    """Train, freeze the first layer, train on: did it move, was its .grad None at the step, and
    how many steps has AdamW counted for it?"""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    X = torch.randn(16, 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=weight_decay)

    # A first phase trains everything, so AdamW builds up its running averages.
    model(X).pow(2).mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)

    # Then the first layer is frozen and training goes on.
    model[0].requires_grad_(False)
    if rebuild_optimizer:
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=0.01, weight_decay=weight_decay)
    before = model[0].weight.detach().clone()
    model(X).pow(2).mean().backward()
    grad_is_none = model[0].weight.grad is None
    optimizer.step()
    steps = int(optimizer.state.get(model[0].weight, {}).get("step", 0))  # no entry made
    return not torch.equal(before, model[0].weight), grad_is_none, steps


moves_with_zeroed_grads, _, _ = frozen_layer_moves(set_to_none=False, rebuild_optimizer=False)
moves_with_none_grads, grad_was_none, frozen_steps = frozen_layer_moves(
    set_to_none=True, rebuild_optimizer=False
)
moves_with_rebuilt_optimizer, _, _ = frozen_layer_moves(set_to_none=False, rebuild_optimizer=True)
print("same optimizer, grads zero-filled:   frozen layer moved =", moves_with_zeroed_grads)
print("same optimizer, grads set to None:   frozen layer moved =", moves_with_none_grads)
print("  AdamW's step count for the frozen layer stayed at", frozen_steps)
print("new optimizer, trainable parameters: frozen layer moved =", moves_with_rebuilt_optimizer)

# Each of AdamW's two pushes alone: the running averages (no weight decay) ...
moves_without_decay, _, _ = frozen_layer_moves(False, False, weight_decay=0.0)
# ... and weight decay (fresh state and a zero gradient: the Adam update itself is zero).
w = nn.Parameter(torch.ones(3))
w.grad = torch.zeros(3)
torch.optim.AdamW([w], lr=0.1, weight_decay=0.1).step()
decay_alone_moves = not torch.equal(w, torch.ones(3))
print("zero-filled grads, no weight decay: moved =", moves_without_decay)
print("fresh AdamW, zero gradient, weight decay only: moved =", decay_alone_moves)

# Freezing between backward() and step() leaves the .grad in place, and the step uses it.
torch.manual_seed(0)
layer = nn.Linear(4, 3).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
layer(torch.randn(2, 4).to(device)).sum().backward()
layer.requires_grad_(False)
grad_kept = layer.weight.grad is not None
before = layer.weight.detach().clone()
optimizer.step()
late_freeze_moves = not torch.equal(before, layer.weight)
print("frozen after backward: .grad kept =", grad_kept, " moved by the step =", late_freeze_moves)


# Does every optimizer skip a .grad that is None? Each one trains a model for a step, the first
# layer is frozen, and a second step runs with the default zero_grad().
def second_step(
    optimizer_class: type, freeze_first: bool = False, clear_history: bool = False
) -> tuple[bool, bool, torch.optim.Optimizer]:
    """Did the frozen weight move once frozen, and did the second step change its state?"""
    torch.manual_seed(0)
    # No biases: Muon takes 2-D parameters only.
    model = nn.Sequential(nn.Linear(4, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))
    model.to(device)
    X = torch.randn(16, 4).to(device)
    # With momentum, SGD would move a parameter whose gradient were read as zeros.
    options = {"momentum": 0.9} if optimizer_class is torch.optim.SGD else {}
    optimizer = optimizer_class(model.parameters(), **options)

    def closure() -> torch.Tensor:  # LBFGS evaluates the loss several times in one step
        optimizer.zero_grad()
        loss = model(X).pow(2).mean()
        loss.backward()
        return loss

    frozen = model[0].weight
    frozen.requires_grad_(not freeze_first)  # frozen from the start, or ...
    start = frozen.detach().clone()
    optimizer.step(closure)
    frozen.requires_grad_(False)  # ... after one step
    if clear_history:
        optimizer.state.clear()  # forget what the first step learned
    before, state = frozen.detach().clone(), optimizer.state.get(frozen, {})  # no entry made
    state_before = {key: value.clone() for key, value in state.items() if torch.is_tensor(value)}
    optimizer.step(closure)
    state_changed = any(not torch.equal(value, state[key]) for key, value in state_before.items())
    frozen_since = start if freeze_first else before  # frozen from the start: both steps count
    return not torch.equal(frozen_since, frozen), state_changed, optimizer


# Every optimizer class in torch.optim but SparseAdam, which takes sparse gradients only.
optimizer_classes = [
    c
    for c in vars(torch.optim).values()
    if isinstance(c, type) and issubclass(c, torch.optim.Optimizer)
    if c not in (torch.optim.Optimizer, torch.optim.SparseAdam)
]
results = {c.__name__: second_step(c) for c in sorted(optimizer_classes, key=lambda c: c.__name__)}
dense = nn.Parameter(torch.ones(2))  # SparseAdam refuses a dense gradient at its first step
dense.grad = torch.ones(2)
try:
    torch.optim.SparseAdam([dense]).step()
    sparse_adam_message = ""
except RuntimeError as error:
    sparse_adam_message = str(error)
print("SparseAdam with a dense gradient:", sparse_adam_message)
try:  # the reason the models in second_step() have no biases
    torch.optim.Muon([nn.Parameter(torch.ones(3))])
    muon_message = ""
except ValueError as error:
    muon_message = str(error)
print("Muon with a 1-D parameter:", muon_message)
skipping = [name for name, (moved, changed, _) in results.items() if not (moved or changed)]
not_skipping = [name for name in results if name not in skipping]
skipping_count, dense_optimizer_count = len(skipping), len(results)
torch_version = torch.__version__.split("+")[0]  # the counts depend on the release
print(
    f"torch {torch_version}: {skipping_count} of {dense_optimizer_count}",
    "leave the frozen weight alone:",
    *skipping,
)
print("the others:", *not_skipping)

# LBFGS joins all its parameters into one vector. A missing gradient reads as zeros there, yet
# the curvature it remembers from before the freeze still moves that part.
lbfgs_moved, _, lbfgs = results["LBFGS"]
lbfgs_parameters = lbfgs.param_groups[0]["params"]
lbfgs_frozen = lbfgs_parameters[0]  # the frozen weight comes first in the vector
flat_grad = lbfgs.state[lbfgs_frozen]["prev_flat_grad"]  # all its state sits under parameter 0
lbfgs_read_zeros = bool(torch.all(flat_grad[: lbfgs_frozen.numel()] == 0))
one_vector = flat_grad.numel() == sum(p.numel() for p in lbfgs_parameters)
print("LBFGS: .grad None:", lbfgs_frozen.grad is None, " gradient read as zeros:", lbfgs_read_zeros)
lbfgs_moved_frozen_from_start, _, _ = second_step(torch.optim.LBFGS, freeze_first=True)
lbfgs_moved_history_cleared, _, _ = second_step(torch.optim.LBFGS, clear_history=True)
print("LBFGS moved the weight frozen after a step:", lbfgs_moved, end=";  ")
print("with its state cleared after the freeze:", lbfgs_moved_history_cleared)
print("LBFGS moved the weight frozen from the start:", lbfgs_moved_frozen_from_start)

# A zero gradient is still a gradient: running averages and weight decay act on it.
assert moves_with_zeroed_grads  # witness: zero-grad-moves
assert moves_without_decay  # witness: averages-push
assert decay_alone_moves  # witness: decay-pushes
assert grad_was_none and (  # witness: none-grad-skipped
    frozen_steps == 1 and not moves_with_none_grads
)
assert not_skipping == ["LBFGS"]  # witness: all-but-lbfgs-skip
assert sparse_adam_message.startswith(  # witness: sparse-adam-refuses-dense
    "SparseAdam does not support dense gradients"
)
assert "only supports 2D parameters" in muon_message  # witness: muon-2d-only
assert lbfgs_frozen.grad is None and one_vector and lbfgs_read_zeros  # witness: lbfgs-reads-zeros
assert not lbfgs_moved_frozen_from_start  # witness: lbfgs-frozen-from-start-stays
assert lbfgs_moved and not lbfgs_moved_history_cleared  # witness: lbfgs-history-moves
assert not moves_with_rebuilt_optimizer  # witness: rebuilt-optimizer-fixed
assert grad_kept and late_freeze_moves  # witness: late-freeze-still-stepped

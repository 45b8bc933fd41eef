"""Exercise: train the head first, then unfreeze the backbone with a smaller learning rate."""

import copy

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
head = nn.Linear(8, 3)
model = nn.Sequential(backbone, head).to(device)
X = torch.randn(16, 4).to(device)
y = torch.randint(0, 3, (16,)).to(device)
unfrozen = copy.deepcopy(model)  # an untouched copy, to run phase 1 without the freeze


def step(net: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    nn.functional.cross_entropy(net(X), y).backward()
    optimizer.step()
    optimizer.zero_grad()


def holds(optimizer: torch.optim.Optimizer, module: nn.Module) -> bool:
    """Does the optimizer hold any of the module's parameters?"""
    held = [q for group in optimizer.param_groups for q in group["params"]]
    return any(p is q for p in module.parameters() for q in held)


# Phase 1: only the head trains.
backbone.requires_grad_(False)
optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2)
before = backbone[0].weight.detach().clone()
step(model, optimizer)
moved_in_phase_1 = not torch.equal(before, backbone[0].weight)
held_in_phase_1 = holds(optimizer, backbone)
grad_none_in_phase_1 = backbone[0].weight.grad is None
# A check, not part of the solution: the backbone is frozen and X does not require grad, so a
# forward pass through it records no graph.
features = backbone(X)
no_graph_in_phase_1 = features.grad_fn is None and not features.requires_grad
head_state_before = [optimizer.state[p]["exp_avg"].clone() for p in head.parameters()]

# Phase 2: unfreeze and hand the backbone to the same optimizer, in its own group.
backbone.requires_grad_(True)
optimizer.add_param_group({"params": backbone.parameters(), "lr": 1e-3})
step(model, optimizer)
moved_in_phase_2 = not torch.equal(before, backbone[0].weight)
learning_rates = [group["lr"] for group in optimizer.param_groups]
head_states = [optimizer.state[p] for p in head.parameters()]
head_steps = int(head_states[0]["step"])  # 2: the head's state carried over
head_state_kept = all(int(state["step"]) == 2 for state in head_states) and all(
    not torch.equal(old, state["exp_avg"]) for old, state in zip(head_state_before, head_states)
)

# A check, not part of the solution: phase 1 without the freeze, two steps. zero_grad() clears
# only what the optimizer holds, the head, so the backbone's gradients pile up; the optimizer does
# not move the backbone.
left_weight = unfrozen[0][0].weight
unfrozen_optimizer = torch.optim.AdamW(unfrozen[1].parameters(), lr=1e-2)
phase_1_grads = []
for _ in range(2):
    loss = nn.functional.cross_entropy(unfrozen(X), y)
    phase_1_grads.append(torch.autograd.grad(loss, left_weight)[0])  # this step's own gradient
    step(unfrozen, unfrozen_optimizer)
head_grad_cleared = unfrozen[1].weight.grad is None
backbone_grad_left = left_weight.grad is not None
left_is_sum = torch.allclose(left_weight.grad, phase_1_grads[0] + phase_1_grads[1])
left_is_sum = left_is_sum and not torch.allclose(left_weight.grad, phase_1_grads[1])
unheld_stays_put = torch.equal(before, left_weight)  # before: the copy's weight too, at the start
# Phase 2 on that copy: its first backward pass adds its gradient to the one phase 1 left.
left_grad = left_weight.grad.clone()
loss = nn.functional.cross_entropy(unfrozen(X), y)
(fresh_grad,) = torch.autograd.grad(loss, left_weight, retain_graph=True)  # phase 2's own
loss.backward()
piled_up = torch.allclose(left_weight.grad, left_grad + fresh_grad)
piled_up = piled_up and not torch.allclose(left_weight.grad, fresh_grad)

print("backbone moved in phase 1:", moved_in_phase_1, " in phase 2:", moved_in_phase_2)
print("graph recorded for the backbone in phase 1:", not no_graph_in_phase_1)
print("learning rate per parameter group:", learning_rates)
print("phase 1 without the freeze, 2 steps: head .grad None:", head_grad_cleared, end="")
print(", backbone .grad None:", not backbone_grad_left)
print("  backbone moved:", not unheld_stays_put, " .grad is the sum of both steps':", left_is_sum)
print("  phase 2's first backward adds to the backbone .grad left from phase 1:", piled_up)

assert not moved_in_phase_1  # witness: still-in-phase-1
assert not held_in_phase_1  # witness: not-held-in-phase-1
assert grad_none_in_phase_1  # witness: frozen-grad-none
assert no_graph_in_phase_1  # witness: no-graph-in-phase-1
assert moved_in_phase_2  # witness: moves-in-phase-2
assert learning_rates == [1e-2, 1e-3]  # witness: own-learning-rate
assert head_steps == 2 and head_state_kept  # witness: head-state-kept
assert head_grad_cleared and backbone_grad_left  # witness: zero-grad-held-only
assert piled_up  # witness: phase-2-adds-to-left-grad
assert left_is_sum  # witness: left-grad-is-sum
assert backbone_grad_left and unheld_stays_put  # witness: unheld-stays-put

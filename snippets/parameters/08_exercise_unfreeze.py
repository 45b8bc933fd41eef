"""Exercise: train the head first, then unfreeze the backbone with a smaller learning rate."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
head = nn.Linear(8, 3)
model = nn.Sequential(backbone, head).to(device)
X = torch.randn(16, 4).to(device)
y = torch.randint(0, 3, (16,)).to(device)


def step(optimizer: torch.optim.Optimizer) -> None:
    nn.functional.cross_entropy(model(X), y).backward()
    optimizer.step()
    optimizer.zero_grad()


# Phase 1: only the head trains.
backbone.requires_grad_(False)
optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2)
before = backbone[0].weight.detach().clone()
step(optimizer)
moved_in_phase_1 = not torch.equal(before, backbone[0].weight)
head_state_before = optimizer.state[head.weight]["exp_avg"].clone()

# Phase 2: unfreeze and hand the backbone to the same optimizer, in its own group.
backbone.requires_grad_(True)
optimizer.add_param_group({"params": backbone.parameters(), "lr": 1e-3})
step(optimizer)
moved_in_phase_2 = not torch.equal(before, backbone[0].weight)
learning_rates = [group["lr"] for group in optimizer.param_groups]
head_steps = int(optimizer.state[head.weight]["step"])  # 2: the head's state carried over
head_average_continued = not torch.equal(head_state_before, optimizer.state[head.weight]["exp_avg"])

print("backbone moved in phase 1:", moved_in_phase_1, " in phase 2:", moved_in_phase_2)
print("learning rate per parameter group:", learning_rates)

assert not moved_in_phase_1  # witness: still-in-phase-1
assert moved_in_phase_2  # witness: moves-in-phase-2
assert learning_rates == [1e-2, 1e-3]  # witness: own-learning-rate
assert head_steps == 2 and head_average_continued  # witness: head-state-kept

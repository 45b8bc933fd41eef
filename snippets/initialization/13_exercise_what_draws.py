"""Exercise: which layers and calls in front of a seeded model change its initial weights."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def build() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def weights_after(first) -> list[torch.Tensor]:
    """Seed 0, then first() (a layer or a call), then build(): the weights build() gets."""
    torch.manual_seed(0)
    first()
    return [parameter.detach().clone() for parameter in build().parameters()]


torch.manual_seed(0)
reference = [parameter.detach().clone() for parameter in build().parameters()]


def changed(first) -> bool:
    return not all(torch.equal(w, r) for w, r in zip(weights_after(first), reference))


batch = torch.ones(2, 4)  # not random: making it draws nothing
in_front = {
    "Dropout(0.5)": lambda: nn.Dropout(0.5),
    "PReLU()": lambda: nn.PReLU(),
    "Linear(4, 4, bias=False)": lambda: nn.Linear(4, 4, bias=False),
    "Dropout(0.5) called in training mode": lambda: nn.Dropout(0.5).train()(batch),
    "Dropout(0.5) called in evaluation mode": lambda: nn.Dropout(0.5).eval()(batch),
    "Dropout(0.0) called in training mode": lambda: nn.Dropout(0.0).train()(batch),
    "Dropout(1.0) called in training mode": lambda: nn.Dropout(1.0).train()(batch),
}
shifted = {}
for name, first in in_front.items():
    shifted[name] = changed(first)
    print(f"{name} in front: build()'s weights change:", shifted[name])

prelu_start = nn.PReLU().weight.item()  # a constant, not a draw
print("PReLU's weight starts at", prelu_start)

# A dropout call on a GPU tensor draws its mask from that GPU's generator: the CPU stream, which
# the layers built on the CPU draw from, is left alone.
if device.type == "cuda":
    gpu_call_shifts = changed(lambda: nn.Dropout(0.5).train()(batch.to(device)))
    print("the same call on a cuda tensor: build()'s weights change:", gpu_call_shifts)
    assert not gpu_call_shifts  # witness: gpu-dropout-leaves-cpu-stream

constructors_draw_nothing = not shifted["Dropout(0.5)"] and not shifted["PReLU()"]
assert constructors_draw_nothing and prelu_start == 0.25  # witness: dropout-prelu-draw-nothing
assert shifted["Linear(4, 4, bias=False)"]  # witness: linear-shifts
mask_drawn_in_training = shifted["Dropout(0.5) called in training mode"]
no_mask_in_eval = not shifted["Dropout(0.5) called in evaluation mode"]
assert mask_drawn_in_training and no_mask_in_eval  # witness: dropout-call-draws-in-training
no_mask_needed = ["Dropout(0.0) called in training mode", "Dropout(1.0) called in training mode"]
assert not any(shifted[name] for name in no_mask_needed)  # witness: extreme-p-draws-nothing

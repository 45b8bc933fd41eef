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
called_once = nn.LazyLinear(3)
called_once(batch)  # its first call, made here, before the seed in weights_after
in_front = {
    "Dropout(0.5)": lambda: nn.Dropout(0.5),
    "PReLU()": lambda: nn.PReLU(),
    "Linear(4, 4, bias=False)": lambda: nn.Linear(4, 4, bias=False),
    "Embedding(1, 4, padding_idx=0)": lambda: nn.Embedding(1, 4, padding_idx=0),
    "a random batch, torch.randn(2, 4)": lambda: torch.randn(2, 4),
    "Dropout(0.5) called in training mode (as built)": lambda: nn.Dropout(0.5)(batch),
    "Dropout(0.5) called in evaluation mode": lambda: nn.Dropout(0.5).eval()(batch),
    "Dropout(0.0) called in training mode": lambda: nn.Dropout(0.0).train()(batch),
    "Dropout(1.0) called in training mode": lambda: nn.Dropout(1.0).train()(batch),
    # RReLU draws a random slope for inputs that are not positive, and nothing for positive ones
    "RReLU() called in training mode on -torch.ones(2, 4)": lambda: nn.RReLU()(-batch),
    "RReLU() called in training mode on torch.zeros(2, 4)": lambda: nn.RReLU()(torch.zeros(2, 4)),
    "RReLU() called in training mode on torch.ones(2, 4)": lambda: nn.RReLU()(batch),
    "RReLU() called in evaluation mode on -torch.ones(2, 4)": lambda: nn.RReLU().eval()(-batch),
    "LazyLinear(3), built only": lambda: nn.LazyLinear(3),  # no weights yet: nothing drawn
    "LazyLinear(3) called for the first time": lambda: nn.LazyLinear(3)(batch),  # drawn now
    "LazyLinear(3) called a second time": lambda: called_once(batch),  # drawn already
}
shifted = {}
for name, first in in_front.items():
    shifted[name] = changed(first)
    print(f"{name}, then build(): its weights change:", shifted[name])

prelu_start = nn.PReLU().weight.item()  # a constant, not a draw
print("PReLU's weight starts at", prelu_start)
padding_row = nn.Embedding(1, 4, padding_idx=0).weight.detach()  # drawn, then set to zero
print("Embedding(1, 4, padding_idx=0)'s one row starts at", padding_row.tolist())
starts_in_training = nn.Dropout(0.5).training
print("a newly built Dropout is in training mode:", starts_in_training)

# A dropout call on a GPU tensor draws its mask from that GPU's generator (its state moves): the
# CPU stream, which the layers built on the CPU draw from, is left alone.
if device.type == "cuda":
    torch.manual_seed(0)  # seeds the GPU's generator too
    seeded_gpu_state = torch.cuda.get_rng_state()
    gpu_call_shifts = changed(lambda: nn.Dropout(0.5).train()(batch.to(device)))
    gpu_mask_drawn = not torch.equal(torch.cuda.get_rng_state(), seeded_gpu_state)
    print("the same call on a cuda tensor: the GPU's generator moves:", gpu_mask_drawn)
    print("  build()'s weights change:", gpu_call_shifts)
    gpu_stream_only = gpu_mask_drawn and not gpu_call_shifts
    assert gpu_stream_only  # witness: gpu-dropout-leaves-cpu-stream

constructors_draw_nothing = not shifted["Dropout(0.5)"] and not shifted["PReLU()"]
assert constructors_draw_nothing and prelu_start == 0.25  # witness: dropout-prelu-draw-nothing
assert shifted["Linear(4, 4, bias=False)"]  # witness: linear-shifts
zeroed_after_drawing = shifted["Embedding(1, 4, padding_idx=0)"] and not bool(padding_row.any())
assert zeroed_after_drawing  # witness: padding-row-drawn-then-zeroed
assert shifted["a random batch, torch.randn(2, 4)"]  # witness: random-batch-draws
mask_drawn_in_training = shifted["Dropout(0.5) called in training mode (as built)"]
no_mask_in_eval = not shifted["Dropout(0.5) called in evaluation mode"]
assert mask_drawn_in_training and no_mask_in_eval  # witness: dropout-call-draws-in-training
assert starts_in_training and mask_drawn_in_training  # witness: built-layer-in-training-mode
no_mask_needed = ["Dropout(0.0) called in training mode", "Dropout(1.0) called in training mode"]
assert not any(shifted[name] for name in no_mask_needed)  # witness: extreme-p-draws-nothing
rrelu_on_negatives = shifted["RReLU() called in training mode on -torch.ones(2, 4)"]
rrelu_on_zeros = shifted["RReLU() called in training mode on torch.zeros(2, 4)"]
rrelu_on_positives = shifted["RReLU() called in training mode on torch.ones(2, 4)"]
rrelu_in_eval = shifted["RReLU() called in evaluation mode on -torch.ones(2, 4)"]
rrelu_draws_for_non_positives = rrelu_on_negatives and rrelu_on_zeros
rrelu_draws_for_non_positives &= not rrelu_on_positives and not rrelu_in_eval
lazy_call_draws = shifted["LazyLinear(3) called for the first time"]
lazy_built_draws_nothing = not shifted["LazyLinear(3), built only"]
lazy_second_call_draws = shifted["LazyLinear(3) called a second time"]
lazy_draws_when_called = lazy_call_draws and lazy_built_draws_nothing and not lazy_second_call_draws
assert rrelu_draws_for_non_positives and lazy_draws_when_called  # witness: rrelu-and-lazy-call-draw

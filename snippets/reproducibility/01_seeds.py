"""Seeding: torch.manual_seed covers PyTorch on every device, but not Python's random or NumPy."""

import random

import numpy as np
import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
first = torch.rand(3)
torch.manual_seed(0)
again = torch.rand(3)
same_after_reseeding = torch.equal(first, again)
print(
    "after torch.manual_seed(0):",
    [round(v, 4) for v in first.tolist()],
    "- the same again:",
    same_after_reseeding,
)


def same_numpy_state(a: tuple, b: tuple) -> bool:
    """np.random.get_state(): the name, the key array, the position and the cached Gaussian."""
    return a[0] == b[0] and bool(np.array_equal(a[1], b[1])) and a[2:] == b[2:]


# Seeding PyTorch leaves the other generators exactly where they were.
python_before = random.getstate()
numpy_before = np.random.get_state()
torch.manual_seed(0)
python_untouched = random.getstate() == python_before
numpy_untouched = same_numpy_state(np.random.get_state(), numpy_before)
print(
    f"torch.manual_seed left Python's random alone: {python_untouched}, "
    f"and NumPy's: {numpy_untouched}"
)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # the CPU generator and the generator of every accelerator device


def draw() -> tuple[float, float, float, float]:
    return (
        random.random(),
        float(np.random.rand()),
        torch.rand(1).item(),
        torch.rand(1, device=device).item(),
    )


seed_everything(42)
run_1 = draw()
seed_everything(42)
run_2 = draw()
all_four_repeat = run_1 == run_2
initial_seed = torch.initial_seed()
print(f"random, numpy, torch on cpu, torch on {device.type}: {[round(v, 4) for v in run_1]}")
print(
    f"repeated after seed_everything(42): {all_four_repeat}; torch.initial_seed() = {initial_seed}"
)

# On a GPU, the same seed gives other numbers than on the CPU.
torch.manual_seed(0)
device_numbers = torch.rand(3, device=device).cpu()
matches_cpu_numbers = torch.equal(device_numbers, first)
if device.type != "cpu":
    print(f"seed 0 on {device.type} gives the CPU's numbers: {matches_cpu_numbers}")

assert same_after_reseeding
assert python_untouched and numpy_untouched  # witness: others-untouched
assert all_four_repeat and initial_seed == 42  # witness: seed-everything-repeats
if device.type != "cpu":
    assert run_1[3] == run_2[3]  # witness: device-draw-repeats
if device.type == "cuda":
    assert not matches_cpu_numbers  # witness: device-numbers-differ

"""Exercise: an evaluation that draws random numbers must not shift the training run's streams."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
# Older releases fork only CUDA devices by default: name the accelerator ("cpu" would raise).
fork_device = {} if device.type == "cpu" else {"device_type": device.type}


def train(evaluate: bool, fork: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Six training steps; returns the final parameters and the last step's inputs."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    validation = torch.randn(32, 4).to(device)
    for step in range(6):
        x = torch.randn(8, 4).to(device)  # drawn on the CPU, like the dropout masks there
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
        if evaluate and step == 2:
            # Monte Carlo dropout: 10 stochastic forward passes, each drawing new dropout masks.
            with torch.random.fork_rng(enabled=fork, **fork_device), torch.no_grad():
                samples = torch.stack([model(validation) for _ in range(10)])
                print(f"  step {step}: MC-dropout spread {samples.std(dim=0).mean().item():.4f}")
    return [p.detach().clone() for p in model.parameters()], x.cpu()


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a, b))


def random_states() -> list[torch.Tensor]:
    states = [torch.get_rng_state()]  # the CPU's generator
    if device.type != "cpu":
        states.append(torch.get_device_module(device).get_rng_state())
    return states


# fork_rng saves the generator states on entry and puts them back on exit.
before = random_states()
with torch.random.fork_rng(**fork_device):
    torch.nn.functional.dropout(torch.ones(100, device=device), p=0.5)
    moved_inside = [not torch.equal(a, b) for a, b in zip(random_states(), before)]
restored = all(torch.equal(a, b) for a, b in zip(random_states(), before))
print("dropout moved a random state inside fork_rng:", any(moved_inside), " restored:", restored)

baseline, baseline_inputs = train(evaluate=False, fork=False)
unforked, unforked_inputs = train(evaluate=True, fork=False)
forked, _ = train(evaluate=True, fork=True)
unforked_matches, forked_matches = same(unforked, baseline), same(forked, baseline)
inputs_shift = not torch.equal(unforked_inputs, baseline_inputs)
print("evaluation without fork_rng leaves training unchanged:", unforked_matches)
print("  its last step has the same inputs:", not inputs_shift)
print("evaluation inside fork_rng leaves training unchanged: ", forked_matches)

assert any(moved_inside) and restored  # witness: fork-restores
assert not unforked_matches  # witness: evaluation-shifts
assert inputs_shift == (device.type == "cpu")  # witness: cpu-inputs-shift
assert forked_matches  # witness: fork-fixes

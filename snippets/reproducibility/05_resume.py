"""Train 8 steps in one go, or 5 steps + checkpoint + fresh objects + 3 steps: same parameters."""

import io
import math
import random

import numpy as np
import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
TOTAL_STEPS, STOP_AFTER = 8, 5

torch.manual_seed(1234)
features = torch.randn(64, 4)
targets = features.sum(dim=1, keepdim=True) + 0.1 * torch.randn(64, 1)
features, targets = features.to(device), targets.to(device)


def new_run(seed: int):
    """Everything a training run owns. Dropout and augmentation make it use four random streams."""
    torch.manual_seed(seed)  # global streams: initialization here, dropout during training
    random.seed(seed)  # Python's random: picks the augmentation strength
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    sampler = torch.Generator().manual_seed(seed + 1)  # a private stream for batch sampling
    noise = np.random.default_rng(seed + 2)  # a NumPy generator for the augmentation noise
    return model, optimizer, scheduler, sampler, noise


def train_step(model, optimizer, scheduler, sampler, noise) -> float:
    """One training step; returns the learning rate it used."""
    learning_rate = optimizer.param_groups[0]["lr"]
    rows = torch.randint(0, len(features), (8,), generator=sampler)
    jitter = torch.from_numpy(noise.normal(size=(8, 4))).float().to(device) * random.uniform(
        0.0, 0.1
    )
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(features[rows] + jitter), targets[rows])
    loss.backward()
    optimizer.step()
    scheduler.step()
    return learning_rate


# --8<-- [start:checkpoint]
def save_checkpoint(file, step, model, optimizer, scheduler, sampler, noise) -> None:
    torch.save(
        {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),  # AdamW's moment estimates and step counts
            "scheduler": scheduler.state_dict(),  # where the learning-rate schedule is
            "sampler": sampler.get_state(),
            "numpy_noise": noise.bit_generator.state,  # a dict of plain ints
            "torch_rng": torch.get_rng_state(),
            "device_rng": torch.get_device_module(device).get_rng_state()
            if device.type != "cpu"
            else None,
            "python_rng": random.getstate(),
        },
        file,
    )


def resume(file, seed: int, *, restore_rng=True, restore_optimizer=True, restore_scheduler=True):
    model, optimizer, scheduler, sampler, noise = new_run(
        seed
    )  # fresh objects, as in a new process
    # Tensors saved from a GPU load onto the CPU, so the file loads on any machine.
    checkpoint = torch.load(file, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    if restore_optimizer:
        optimizer.load_state_dict(
            checkpoint["optimizer"]
        )  # moves the state to the parameters' device
    if restore_scheduler:
        scheduler.load_state_dict(checkpoint["scheduler"])
    if restore_rng:
        sampler.set_state(checkpoint["sampler"])
        noise.bit_generator.state = checkpoint["numpy_noise"]
        torch.set_rng_state(checkpoint["torch_rng"])
        if checkpoint["device_rng"] is not None:
            torch.get_device_module(device).set_rng_state(checkpoint["device_rng"])
        random.setstate(checkpoint["python_rng"])
    return checkpoint["step"], (model, optimizer, scheduler, sampler, noise)


# --8<-- [end:checkpoint]


# Run 1: all steps without a break.
straight = new_run(seed=0)
for step in range(TOTAL_STEPS):
    last_lr = train_step(*straight)
reference = [p.detach().clone() for p in straight[0].parameters()]

# Run 2: stop after STOP_AFTER steps and write a checkpoint.
interrupted = new_run(seed=0)
for step in range(STOP_AFTER):
    train_step(*interrupted)
file = io.BytesIO()
save_checkpoint(file, STOP_AFTER, *interrupted)
del interrupted


def finish(**restore) -> tuple[bool, float]:
    """Resume into fresh objects built from another seed, finish the run, compare with run 1.
    Also returns the learning rate of the last step."""
    file.seek(0)
    start, run = resume(file, seed=99, **restore)
    for step in range(start, TOTAL_STEPS):
        lr = train_step(*run)
    return all(torch.equal(p, q) for p, q in zip(run[0].parameters(), reference)), lr


identical, _ = finish()
identical_without_rng, _ = finish(restore_rng=False)
identical_without_optimizer, last_lr_without_optimizer = finish(restore_optimizer=False)
identical_without_scheduler, last_lr_without_scheduler = finish(restore_scheduler=False)
print(
    f"{TOTAL_STEPS} steps in one go vs {STOP_AFTER} steps + checkpoint + "
    f"{TOTAL_STEPS - STOP_AFTER} steps in fresh objects:"
)
print("  full checkpoint          -> identical parameters:", identical)
print("  without the RNG states   -> identical parameters:", identical_without_rng)
print(
    "  without optimizer state  -> identical parameters:",
    identical_without_optimizer,
    f"(last step at lr {last_lr_without_optimizer:g}, not {last_lr:g})",
)
print(
    "  without scheduler state  -> identical parameters:",
    identical_without_scheduler,
    f"(last step at lr {last_lr_without_scheduler:g}, not {last_lr:g})",
)

assert identical
assert not (identical_without_rng or identical_without_optimizer or identical_without_scheduler)
assert math.isclose(last_lr, 0.005) and math.isclose(last_lr_without_optimizer, 0.01)
assert math.isclose(last_lr_without_scheduler, 0.01)

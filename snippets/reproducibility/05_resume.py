"""Train 8 steps in one go, or 5 steps + checkpoint + fresh objects + 3 steps: same parameters."""

import contextlib
import io
import math
import random
import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
TOTAL_STEPS, STOP_AFTER = 8, 5

torch.manual_seed(1234)
features = torch.randn(64, 4)
targets = features.sum(dim=1, keepdim=True) + 0.1 * torch.randn(64, 1)
features, targets = features.to(device), targets.to(device)


def network() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))


def new_run(seed: int):
    """Everything a training run owns. Dropout, sampling and augmentation use several streams."""
    torch.manual_seed(seed)  # global streams: initialization here, dropout during training
    random.seed(seed)  # Python's random: picks the augmentation strength
    model = network().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    sampler = torch.Generator().manual_seed(seed + 1)  # a private stream for batch sampling
    noise = np.random.default_rng(seed + 2)  # a NumPy generator for the augmentation noise
    return model, optimizer, scheduler, sampler, noise


def train_step(model, optimizer, scheduler, sampler, noise) -> tuple[float, list[int]]:
    """One training step; returns the learning rate it used and the rows of its batch."""
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
    return learning_rate, rows.tolist()


# --8<-- [start:checkpoint]
def save_checkpoint(file, step, model, optimizer, scheduler, sampler, noise) -> None:
    torch.save(
        {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),  # AdamW's moment estimates and step counts
            "scheduler": scheduler.state_dict(),  # where the learning-rate schedule is
            "sampler": sampler.get_state(),
            "numpy_noise": noise.bit_generator.state,  # a name, ints and a nested dict of two ints
            "torch_rng": torch.get_rng_state(),
            "device_rng": torch.get_device_module(device).get_rng_state()
            if device.type != "cpu"
            else None,
            "python_rng": random.getstate(),
        },
        file,
    )


def resume(file, seed: int, *, restore_rng=True, restore_optimizer=True, restore_scheduler=True):
    # Fresh objects, as in a new process.
    model, optimizer, scheduler, sampler, noise = new_run(seed)
    # Tensors saved from a GPU load onto the CPU, so the file loads on any machine.
    checkpoint = torch.load(file, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    if restore_optimizer:
        # Moves the moment estimates to the parameters' device (the step count stays on the
        # CPU unless a fused or capturable optimizer saved it).
        optimizer.load_state_dict(checkpoint["optimizer"])
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


def plain(value) -> bool:
    """True for a str or int, or a dict of them: what weights_only=True loads without a question."""
    if isinstance(value, dict):
        return all(plain(key) and plain(item) for key, item in value.items())
    return isinstance(value, (str, int))


class Resumed(NamedTuple):
    identical: bool  # the final parameters are bitwise those of run 1
    steps_done: int  # the steps the resumed run took
    last_lr: float  # the learning rate of the last step
    lr_at_resume: float  # the optimizer's learning rate right after loading
    scheduler_steps: int  # the scheduler's step count right after loading
    same_next_batch: bool  # the first batch after resuming is the one run 1 drew


def finish(file, reference, straight_rows, **restore) -> Resumed:
    """Resume into fresh objects built from another seed, finish the run, compare with run 1."""
    file.seek(0)
    start, run = resume(file, seed=99, **restore)
    model, optimizer, scheduler = run[:3]
    lr_at_resume, scheduler_steps = optimizer.param_groups[0]["lr"], scheduler.last_epoch
    batches = [train_step(*run) for step in range(start, TOTAL_STEPS)]
    identical = all(torch.equal(p, q) for p, q in zip(model.parameters(), reference))
    same_next_batch = batches[0][1] == straight_rows[start]
    last_lr = batches[-1][0]
    return Resumed(identical, len(batches), last_lr, lr_at_resume, scheduler_steps, same_next_batch)


@contextlib.contextmanager
def deterministic_mode():
    """Deterministic mode for one block (see 03_deterministic.py), then the settings it found."""
    found = torch.are_deterministic_algorithms_enabled()
    found_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    found_benchmark = torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False  # the other setting (off by default)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(found, warn_only=found_warn_only)
        torch.backends.cudnn.benchmark = found_benchmark


mode_before = torch.are_deterministic_algorithms_enabled()
benchmark_before = torch.backends.cudnn.benchmark
# The training runs in deterministic mode: on a GPU, two runs of the same steps could otherwise
# differ in their last bits, and the comparison would fail for reasons not in the checkpoint.
with deterministic_mode():
    # Run 1: all steps without a break.
    straight = new_run(seed=0)
    straight_rows = []
    for step in range(TOTAL_STEPS):
        last_lr, rows = train_step(*straight)
        straight_rows.append(rows)
    reference = [p.detach().clone() for p in straight[0].parameters()]

    # Run 2: stop after STOP_AFTER steps and write a checkpoint.
    interrupted = new_run(seed=0)
    for step in range(STOP_AFTER):
        train_step(*interrupted)
    file = io.BytesIO()
    save_checkpoint(file, STOP_AFTER, *interrupted)
    del interrupted

    full = finish(file, reference, straight_rows)
    in_mode = torch.are_deterministic_algorithms_enabled()  # for the runs that full compares
    with warnings.catch_warnings(record=True) as caught:  # whatever the omissions make PyTorch say
        warnings.simplefilter("always")
        no_rng = finish(file, reference, straight_rows, restore_rng=False)
        no_optimizer = finish(file, reference, straight_rows, restore_optimizer=False)
        no_scheduler = finish(file, reference, straight_rows, restore_scheduler=False)
omissions = (no_rng, no_optimizer, no_scheduler)
omissions_run_silently = not caught and all(
    run.steps_done == TOTAL_STEPS - STOP_AFTER for run in omissions
)
identical, identical_without_rng = full.identical, no_rng.identical
identical_without_optimizer = no_optimizer.identical
identical_without_scheduler = no_scheduler.identical
last_lr_without_optimizer = no_optimizer.last_lr
last_lr_without_scheduler = no_scheduler.last_lr
print(
    f"{TOTAL_STEPS} steps in one go vs {STOP_AFTER} steps + checkpoint + "
    f"{TOTAL_STEPS - STOP_AFTER} steps in fresh objects:"
)
print("  full checkpoint          -> identical parameters:", identical)
print(
    "  without the RNG states   -> identical parameters:",
    identical_without_rng,
    "(next batch the same:",
    f"{no_rng.same_next_batch})",
)
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

# The resumed runs right after loading: learning rate and scheduler step count.
lr_without_optimizer = (no_optimizer.lr_at_resume, no_optimizer.scheduler_steps)
lr_without_scheduler = (no_scheduler.lr_at_resume, no_scheduler.scheduler_steps)
print("lr and scheduler steps after resuming without optimizer state:", lr_without_optimizer)
print("lr and scheduler steps after resuming without scheduler state:", lr_without_scheduler)

# What the checkpoint holds, and where its tensors go when it is loaded.
file.seek(0)
# No map_location here: each tensor comes back where it was saved, so its device can be checked.
checkpoint = torch.load(file, weights_only=True)  # the default since PyTorch 2.6, made explicit
random_states = [checkpoint["torch_rng"], checkpoint["sampler"]]
if checkpoint["device_rng"] is not None:
    random_states.append(checkpoint["device_rng"])
rng_states_on_cpu = all(t.device.type == "cpu" and t.dtype == torch.uint8 for t in random_states)
try:  # a random state on another device than the CPU: here meta, which every machine has
    torch.set_rng_state(checkpoint["torch_rng"].to("meta"))
    rng_refusal = ""
except TypeError as error:
    rng_refusal = str(error)
print("torch.set_rng_state with a state on meta:", rng_refusal)
adamw_state = checkpoint["optimizer"]["state"][0]
numpy_state_is_plain = plain(checkpoint["numpy_noise"])  # PCG64: a name, integers, a nested dict
print("AdamW's state for one parameter:", sorted(adamw_state))
file.seek(0)
_, (model, optimizer, *_) = resume(file, seed=99)
weight, state = model[0].weight, optimizer.state[model[0].weight]
moments_on_device = all(state[k].device == weight.device for k in ("exp_avg", "exp_avg_sq"))
step_on_cpu = state["step"].device.type == "cpu"  # kept as saved, unless fused or capturable
weight_on_device = weight.device.type == device.type

# On the CPU the device cannot show the copy, so let the dtype stand in for it: load the same
# checkpoint into a float64 copy of the model and of its optimizer. Load it onto the CPU for
# that: float64 stays on the CPU (MPS has none).
file.seek(0)
cpu_checkpoint = torch.load(file, map_location="cpu")
wide = network().double()
wide_weight = wide[0].weight
wide.load_state_dict(cpu_checkpoint["model"])
wide_optimizer = torch.optim.AdamW(wide.parameters(), lr=0.02)
wide_optimizer.load_state_dict(cpu_checkpoint["optimizer"])
wide_state = wide_optimizer.state[wide_weight]
copied_and_cast = (
    wide[0].weight is wide_weight  # the model's own tensor, which load_state_dict copies into
    and wide_weight.dtype == torch.float64
    and torch.equal(wide_weight, cpu_checkpoint["model"]["0.weight"].double())
)
state_cast = all(wide_state[k].dtype == torch.float64 for k in ("exp_avg", "exp_avg_sq"))
step_kept = wide_state["step"].dtype == torch.float32 and wide_state["step"].device.type == "cpu"
print(
    "float64 copy: weight",
    wide_weight.dtype,
    "(same tensor)" if wide[0].weight is wide_weight else "(replaced)",
    "- exp_avg",
    wide_state["exp_avg"].dtype,
    "- step",
    wide_state["step"].dtype,
)

# A state tensor that already has the parameter's device and dtype is taken as it is, not copied.
narrow = network()
narrow_optimizer = torch.optim.AdamW(narrow.parameters(), lr=0.02)
narrow_optimizer.load_state_dict(cpu_checkpoint["optimizer"])
narrow_exp_avg = narrow_optimizer.state[narrow[0].weight]["exp_avg"]
state_shared = narrow_exp_avg is cpu_checkpoint["optimizer"]["state"][0]["exp_avg"]
print("float32 copy: exp_avg is the checkpoint's own tensor:", state_shared)
# So a second optimizer loaded from the same dictionary holds the same tensors as the first.
second = network()
second_optimizer = torch.optim.AdamW(second.parameters(), lr=0.02)
second_optimizer.load_state_dict(cpu_checkpoint["optimizer"])
first_state = narrow_optimizer.state[narrow[0].weight]
second_state = second_optimizer.state[second[0].weight]
shared_between = all(second_state[key] is first_state[key] for key in first_state)
print("  a second optimizer loaded from it holds the same tensors:", shared_between)
# Where the dtype (or device) differs, a second optimizer's moment estimates are its own, but the
# step count is still the checkpoint's tensor, and a step of either optimizer advances it in place.
other = network().double()
other_optimizer = torch.optim.AdamW(other.parameters(), lr=0.02)
other_optimizer.load_state_dict(cpu_checkpoint["optimizer"])
other_state = other_optimizer.state[other[0].weight]
own_moments = all(other_state[k] is not wide_state[k] for k in ("exp_avg", "exp_avg_sq"))
step_before = other_state["step"].item()
wide[0](torch.ones(1, 4, dtype=torch.float64)).sum().backward()  # no dropout: no draws
wide_optimizer.step()
step_shared = other_state["step"] is wide_state["step"]
step_advanced = step_shared and other_state["step"].item() == step_before + 1
print("  in float64, its own moment estimates:", own_moments, "- its step advanced:", step_advanced)


def loaded_state(target_device="meta", **settings) -> tuple[dict, bool, bool]:
    """AdamW's state for a CPU parameter, saved and loaded by two AdamW for float64 parameters
    on target_device: the devices of the first one's state, whether the two share the step
    count, and whether their moment estimates are separate tensors."""
    saved = nn.Parameter(torch.ones(3))
    saving = torch.optim.AdamW([saved], **settings)
    saved.grad = torch.ones(3)
    with contextlib.suppress(AssertionError):  # capturable on the CPU: state made, step refused
        saving.step()
    saved_state = saving.state_dict()
    states = []
    for _ in range(2):
        # target_device='meta' (the default): no memory, on any machine
        target = nn.Parameter(torch.empty(3, device=target_device, dtype=torch.float64))
        loading = torch.optim.AdamW([target])
        loading.load_state_dict(saved_state)
        states.append(loading.state[target])
    devices = {key: value.device.type for key, value in states[0].items()}
    separate = all(states[0][k] is not states[1][k] for k in ("exp_avg", "exp_avg_sq"))
    return devices, states[0]["step"] is states[1]["step"], separate


# The state follows the parameter to its device; the step count only if fused or capturable.
default_devices, default_step_shared, moved_moments_separate = loaded_state()
fused_devices, fused_step_shared, _ = loaded_state(fused=True)
capturable_devices, capturable_step_shared, _ = loaded_state(capturable=True)
_, fused_kept_step_shared, _ = loaded_state("cpu", fused=True)  # the step count need not move
moved_steps_shared = fused_step_shared or capturable_step_shared
shared_unless_fused = default_step_shared and fused_kept_step_shared and not moved_steps_shared
print("AdamW's state, loaded for a meta parameter:", default_devices)
print("the same, saved by a fused AdamW:          ", fused_devices)
print("the same, saved by a capturable AdamW:     ", capturable_devices)
print(
    "two AdamW loaded from one state share its step count (plain, fused, capturable on meta;",
    "fused on the CPU):",
    [default_step_shared, fused_step_shared, capturable_step_shared, fused_kept_step_shared],
)

# A capturable AdamW steps only on devices that can capture a step in a graph: not the CPU.
capturable_param = nn.Parameter(torch.ones(3))
capturable_param.grad = torch.ones(3)
try:
    torch.optim.AdamW([capturable_param], capturable=True).step()
    capturable_refusal = ""
except AssertionError as error:  # the optimizer checks the devices with an assert
    capturable_refusal = str(error)
print("a capturable AdamW's step on the CPU:", capturable_refusal)
capturable_needs = "supported devices" in capturable_refusal and all(
    f"'{name}'" in capturable_refusal for name in ("cuda", "xpu", "hpu", "xla", "privateuseone")
)

# assign=True puts the checkpoint's own tensors into the model instead: here, CPU tensors.
with torch.device("meta"):
    assigned = network()  # a model with no storage, as built for loading big checkpoints
assigned.load_state_dict(cpu_checkpoint["model"], assign=True)
assigned_weight = assigned[0].weight
takes_checkpoint_tensors = (
    assigned_weight.device.type == "cpu"
    and assigned_weight.data_ptr() == cpu_checkpoint["model"]["0.weight"].data_ptr()
)
print("a meta model loaded with assign=True ends up on:", assigned_weight.device.type)

# The dictionary remembers assign=True in its metadata: a later plain load assigns as well.
assign_recorded = cpu_checkpoint["model"]._metadata["0"].get("assign_to_params_buffers", False)
later = network().double()
later_weight = later[0].weight
later.load_state_dict(cpu_checkpoint["model"])  # no assign=True written here
later_assigned = (
    later[0].weight is not later_weight
    and later[0].weight.dtype == torch.float32
    and later[0].weight.data_ptr() == cpu_checkpoint["model"]["0.weight"].data_ptr()
)
print("a later plain load into a float64 model leaves its weight in:", later[0].weight.dtype)

# SGD with momentum keeps a velocity for each parameter.
velocity_param = nn.Parameter(torch.ones(2))
sgd = torch.optim.SGD([velocity_param], lr=0.1, momentum=0.9)
velocity_param.grad = torch.ones(2)
sgd.step()
sgd_state = sorted(sgd.state[velocity_param])
print("SGD with momentum keeps, per parameter:", sgd_state)

# A gradient scaler (mixed precision): an overflow halves its loss scale, and each good step
# counts towards doubling it. A fresh scaler starts from its initial scale; a loaded one does not.
scaled = nn.Parameter(torch.ones(2))
scaler, scaled_sgd = torch.amp.GradScaler("cpu"), torch.optim.SGD([scaled], lr=0.1)
for factor in (math.inf, 1.0):  # the first step overflows and is skipped, the second is good
    scaled.grad = None
    scaler.scale((scaled * factor).sum()).backward()
    scaler.step(scaled_sgd)
    scaler.update()
fresh_scaler, loaded_scaler = torch.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
loaded_scaler.load_state_dict(scaler.state_dict())
print("loss scale: fresh", fresh_scaler.get_scale(), "- loaded", loaded_scaler.get_scale())
scaler_resumes = (
    loaded_scaler.get_scale() == scaler.get_scale() == fresh_scaler.get_scale() / 2
    and loaded_scaler.state_dict()["_growth_tracker"] == 1
)


def lstm_resumed() -> tuple[torch.Tensor, torch.Tensor]:
    """An LSTM with dropout: its second call, run on, then again from the GPU generator's state."""
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 8, num_layers=2, dropout=0.5).to(device)
    sequence = torch.randn(5, 1, 4).to(device)
    lstm(sequence)  # the first step, before the checkpoint
    saved = torch.cuda.get_rng_state()
    run_on = lstm(sequence)[0]
    torch.cuda.set_rng_state(saved)  # what resume() does
    return run_on, lstm(sequence)[0]


if device.type == "cuda":  # cuDNN keeps the dropout state of recurrent layers on the GPU
    with deterministic_mode():
        with_cudnn = lstm_resumed()
        with torch.backends.cudnn.flags(enabled=False):
            without_cudnn = lstm_resumed()
    repeats_with_cudnn, repeats_without = torch.equal(*with_cudnn), torch.equal(*without_cudnn)
    print("an LSTM resumed from the GPU generator's state gives the run's outputs again,")
    print("  with cuDNN:", repeats_with_cudnn, "- without cuDNN:", repeats_without)

assert identical and full.same_next_batch and in_mode  # witness: full-identical
assert not identical_without_rng and not no_rng.same_next_batch  # witness: rng-other-batches
assert not identical_without_optimizer  # witness: optimizer-needed
assert lr_without_optimizer == (0.02, STOP_AFTER)  # witness: lr-in-optimizer
assert not identical_without_scheduler  # witness: scheduler-needed
assert lr_without_scheduler == (0.01, 0)  # witness: scheduler-restarts
assert math.isclose(last_lr, 0.005) and math.isclose(last_lr_without_optimizer, 0.01)
assert math.isclose(last_lr_without_scheduler, 0.01)
assert omissions_run_silently  # witness: omissions-run-silently
assert set(adamw_state) == {"step", "exp_avg", "exp_avg_sq"}  # witness: adamw-state
assert sgd_state == ["momentum_buffer"]  # witness: sgd-velocity
if device.type == "cuda":
    assert weight_on_device and moments_on_device and step_on_cpu  # witness: loaded-to-device
assert copied_and_cast and state_cast and step_kept  # witness: copy-and-cast
assert takes_checkpoint_tensors  # witness: assign-takes-tensors
assert assign_recorded is True and later_assigned  # witness: assign-sticks
assert (  # witness: state-follows-parameter
    default_devices == {"step": "cpu", "exp_avg": "meta", "exp_avg_sq": "meta"}
    and fused_devices["step"] == "meta"
)
assert capturable_needs  # witness: capturable-devices
assert capturable_devices["step"] == "meta"  # witness: capturable-like-fused
assert state_shared  # witness: state-not-copied
shared_or_own = shared_between and len(first_state) == 3 and own_moments and step_advanced
shared_unless_moved = shared_unless_fused and moved_moments_separate
assert shared_or_own and shared_unless_moved  # witness: optimizers-share-state
assert rng_states_on_cpu  # witness: rng-states-cpu
assert "RNG state must be a torch.ByteTensor" in rng_refusal  # witness: rng-state-cpu-only
assert scaler_resumes  # witness: scaler-state
if device.type == "cuda":
    assert not repeats_with_cudnn and repeats_without  # witness: cudnn-rnn-dropout-escapes
assert torch.are_deterministic_algorithms_enabled() == mode_before
assert torch.backends.cudnn.benchmark == benchmark_before
assert numpy_state_is_plain  # witness: loads-weights-only

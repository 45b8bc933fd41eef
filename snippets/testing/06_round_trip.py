"""A state_dict round trip: state that the checkpoint leaves out changes the reloaded outputs.

Needs extra_checks.py and module_check.py in the same folder.
"""

from collections.abc import Callable

import torch
from extra_checks import check_gradients, check_low_precision, check_round_trip, unsaved_tensors
from module_check import check_module
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class ForgetfulStandardize(nn.Module):
    """Standardizes each feature with statistics fitted on data, kept in non-persistent buffers."""

    persistent = False  # the bug: the fitted statistics are not saved

    def __init__(self, features: int = 5) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features), persistent=self.persistent)
        self.register_buffer("std", torch.ones(features), persistent=self.persistent)

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "ForgetfulStandardize":
        self.mean.copy_(data.mean(dim=0))
        self.std.copy_(data.std(dim=0))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Standardize(ForgetfulStandardize):
    persistent = True  # the fix: saved with the module


class RandomFeatures(nn.Module):
    """A fixed random projection, then a linear layer. The projection is a plain attribute."""

    def __init__(self, features: int = 5) -> None:
        super().__init__()
        self.projection = torch.randn(features, features)  # the bug: not registered
        self.linear = nn.Linear(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # .to(x.device): a plain attribute stays behind when the module moves to a device
        return self.linear(x @ self.projection.to(x.device))


class SavedRandomFeatures(nn.Module):
    """The same layer, with the projection in a buffer: saved, and moved with the module."""

    def __init__(self, features: int = 5) -> None:
        super().__init__()
        self.register_buffer("projection", torch.randn(features, features))  # the fix
        self.linear = nn.Linear(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x @ self.projection)


class MaskedFeatures(nn.Module):
    """A fixed 0/1 mask that the constructor rebuilds exactly: a non-persistent buffer is right."""

    def __init__(self, features: int = 5) -> None:
        super().__init__()
        self.register_buffer("mask", torch.ones(features, features).tril(), persistent=False)
        self.linear = nn.Linear(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x @ self.mask)


def outcome(module: nn.Module, make_module: Callable[[], nn.Module]) -> str:
    """check_round_trip's report, or the first line of the error it raised."""
    try:
        return check_round_trip(module.to(device), make_module, input_shape=(4, 5))
    except (AssertionError, RuntimeError) as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


def fitted(module_class: type[nn.Module], seed: int = 0) -> nn.Module:
    """A module of this class built right after torch.manual_seed(seed), fitted if it fits."""
    torch.manual_seed(seed)
    module = module_class()
    if isinstance(module, ForgetfulStandardize):
        module.fit(torch.randn(100, 5) * 10.0 + 5.0)
    return module


def round_trip(module_class: type[nn.Module]) -> str:
    return outcome(fitted(module_class), module_class)


def round_trip_keeping(module: nn.Module) -> tuple[str, list[nn.Module]]:
    """check_round_trip's outcome, and the fresh instances it built, kept to compare."""
    fresh = []

    def make_and_keep() -> nn.Module:
        fresh.append(type(module)())
        return fresh[-1]

    return outcome(module, make_and_keep), fresh


results = {c.__name__: round_trip(c) for c in (ForgetfulStandardize, RandomFeatures)}
for name, result in results.items():
    print(result)
forgetful_message = results["ForgetfulStandardize"].removeprefix("AssertionError: ")
plain_message = results["RandomFeatures"].removeprefix("AssertionError: ")
fixed_reports = [round_trip(Standardize), round_trip(SavedRandomFeatures)]
print(*fixed_reports, sep="\n")
mask_report = round_trip(MaskedFeatures)
mask_unsaved = unsaved_tensors(fitted(MaskedFeatures))  # right, and listed all the same
print(mask_report, "| unsaved:", mask_unsaved)
# In bfloat16: the input is made in the module's dtype, and make_module must build in it too.
# With a factory that builds in float32, even the correct Standardize fails: the helper reports
# that the fresh instance returns float32. A fresh instance that multiplies by its float32 weights
# raises torch's own dtype error instead, before it returns anything.
float32_factory = outcome(fitted(Standardize).bfloat16(), Standardize)
print("in bfloat16, Standardize with a float32 factory:", float32_factory)
float32_factory_matmul = outcome(fitted(SavedRandomFeatures).bfloat16(), SavedRandomFeatures)
print("  SavedRandomFeatures with a float32 factory:", float32_factory_matmul)
bfloat16_factory = outcome(fitted(Standardize).bfloat16(), lambda: Standardize().bfloat16())
print("  Standardize with a bfloat16 factory:", bfloat16_factory)
torch.manual_seed(0)
float32_factory_linear = outcome(nn.Linear(5, 3).bfloat16(), lambda: nn.Linear(5, 3))


class TrainingOnlyStandardize(ForgetfulStandardize):
    """Uses its unsaved statistics in training mode only (as an augmentation might)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) if self.training else x


training_only_report = round_trip(TrainingOnlyStandardize)
ones = torch.ones(1, 5)  # in training mode, the fitted and a fresh instance differ
fitted_output = fitted(TrainingOnlyStandardize)(ones)
training_matters = not torch.equal(fitted_output, TrainingOnlyStandardize()(ones))
print(training_only_report, "| differs in training mode:", training_matters)

# Built right after torch.manual_seed(1), the module draws the projection that the first fresh
# instance (seed 0 + 1) draws too; the second one (seed 0 + 2) does not, and catches it.
same_seed = fitted(RandomFeatures, seed=1)
same_seed_report, fresh = round_trip_keeping(same_seed)
shares_projection = [torch.equal(f.projection, same_seed.projection) for f in fresh]
print("built after torch.manual_seed(1):", same_seed_report)
print("  same projection as the fresh instances:", shares_projection)


class RandomFlip(nn.Module):
    """Negates its output or not, by a coin drawn when it is built: a choice between two values."""

    def __init__(self) -> None:
        super().__init__()
        self.flip = torch.rand(()) < 0.5  # the bug: a plain attribute, not saved
        self.linear = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.linear(x) if self.flip else self.linear(x)


# Two fresh instances can draw the same coin as the module, and then nothing shows.
flipper = fitted(RandomFlip, seed=4)
flip_report, fresh = round_trip_keeping(flipper)
shares_flip = [bool(f.flip == flipper.flip) for f in fresh]
print("RandomFlip built after torch.manual_seed(4):", flip_report)
coin_unsaved = unsaved_tensors(flipper)
print("  same coin as the fresh instances:", shares_flip, " unsaved:", coin_unsaved)
# unsaved_tensors looks at tensor attributes only: not at a Python bool, nor inside a list.
flipper.flip = bool(flipper.flip)
bool_coin_unsaved = unsaved_tensors(flipper)
flipper.flip = [torch.tensor(flipper.flip)]
list_coin_unsaved = unsaved_tensors(flipper)
print("  the coin as a Python bool, unsaved:", bool_coin_unsaved, " in a list:", list_coin_unsaved)

# An error from torch itself passes through: a factory whose module does not fit the state_dict.
mismatch = outcome(fitted(Standardize), ForgetfulStandardize)
print("wrong factory:", mismatch)

# Why: the state_dict holds neither, and check_module, which never reloads, passes both, made
# as above: the same modules fail the round trip.
forgetful_keys = list(ForgetfulStandardize().state_dict())
plain = RandomFeatures()
plain_keys = list(plain.state_dict())
plain_registered = [n for n, _ in [*plain.named_parameters(), *plain.named_buffers()]]
print("state_dict keys:", forgetful_keys, "and", plain_keys)
bugs = [(fitted(ForgetfulStandardize), 5), (fitted(RandomFeatures), 3)]
passes_check_module = [len(check_module(m.to(device), (4, 5), (4, n)).checks) == 5 for m, n in bugs]
differ = "outputs differ after a state_dict round trip"
fails_round_trip = [f"{type(m).__name__}: {differ}" in outcome(m, type(m)) for m, _ in bugs]
print("check_module passes both:", all(passes_check_module))


class CountsCalls(nn.Linear):
    """Counts its forward passes in a buffer, as a step counter would."""

    def __init__(self) -> None:
        super().__init__(5, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().forward(x)


# check_module puts buffers back; check_round_trip runs the module itself and does not.
counter = CountsCalls().to(device)
check_module(counter, (4, 5), (4, 3))
calls_after_check_module = int(counter.calls)
outcome(counter, CountsCalls)
calls_after_round_trip = int(counter.calls)
print("calls after check_module:", calls_after_check_module, end=" | ")
print("after check_round_trip:", calls_after_round_trip)


class NoisyLinear(nn.Linear):
    """Adds noise drawn from the CPU's global stream in every mode; its size is 0 here."""

    def __init__(self, noise: float = 0.0) -> None:
        super().__init__(5, 3)
        self.noise = noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out + self.noise * torch.randn(out.shape, dtype=out.dtype).to(out.device)


# The helper seeds and restores the streams only around building the fresh instances: the forward
# passes run outside, so their draws move the CPU stream on, by exactly three passes' worth.
noisy = NoisyLinear().to(device)
state_before = torch.get_rng_state()
outcome(noisy, NoisyLinear)
state_after = torch.get_rng_state()
torch.set_rng_state(state_before)
for _ in range(3):  # the module's pass and the two fresh instances'
    torch.randn(4, 3)
stream_moved = not torch.equal(state_after, state_before)
by_three_passes = torch.equal(state_after, torch.get_rng_state())
other_checks_moved = []  # the other two checks run their forward passes outside fork_rng too
gradients_device = "cpu" if device.type == "mps" else None  # MPS has no float64
for check, kwargs in ((check_low_precision, {}), (check_gradients, {"device": gradients_device})):
    state_before = torch.get_rng_state()
    check(noisy, (4, 5), **kwargs)
    other_checks_moved.append(not torch.equal(torch.get_rng_state(), state_before))
print("NoisyLinear: CPU stream moved by check_round_trip:", stream_moved, end=", ")
print("by check_low_precision and check_gradients:", other_checks_moved)

prefix = "outputs differ after a state_dict round trip"
assert (
    forgetful_message == f"ForgetfulStandardize: {prefix}; not in the state_dict: ['mean', 'std']"
)
assert forgetful_keys == []  # witness: non-persistent-not-saved
assert plain_message.startswith(f"RandomFeatures: {prefix}")  # witness: plain-attribute-caught
assert plain_message.endswith("['projection']")
unregistered = plain_keys == plain_registered == ["linear.weight", "linear.bias"]
assert unregistered and hasattr(plain, "projection")  # witness: plain-attribute-unregistered
assert all(
    r.endswith("same output after a state_dict round trip") for r in fixed_reports
)  # witness: fixes-pass
assert all(passes_check_module) and all(fails_round_trip)  # witness: check-module-misses
assert mask_report.endswith("same output after a state_dict round trip")  # witness: rebuilt-passes
assert mask_unsaved == ["mask"]  # witness: lists-rebuilt-buffers
assert shares_projection == [True, False] and same_seed_report.startswith(
    f"AssertionError: RandomFeatures: {prefix}"
)  # witness: same-seed-caught
coin_missed = flip_report.endswith("same output after a state_dict round trip")
assert shares_flip == [True, True] and coin_missed  # witness: coin-missed
training_only_missed = training_only_report.endswith("same output after a state_dict round trip")
assert training_only_missed and training_matters  # witness: training-only-missed
expected = "AssertionError: Standardize: a fresh instance returns torch.float32, not torch.bfloat16"
assert float32_factory == expected  # witness: float32-factory-fails
bfloat16_factory_passes = bfloat16_factory.startswith("Standardize: same output after")
assert bfloat16_factory_passes  # witness: bfloat16-factory-passes
factory_errors = (float32_factory_matmul, float32_factory_linear)
matmul_refuses = all(e.startswith("RuntimeError: ") and "same dtype" in e for e in factory_errors)
assert matmul_refuses  # witness: float32-factory-torch-error
assert coin_unsaved == ["flip"]  # witness: coin-unsaved
assert bool_coin_unsaved == [] and list_coin_unsaved == []  # witness: tensors-only
torch_error = "RuntimeError: Error(s) in loading state_dict"
assert mismatch.startswith(torch_error)  # witness: torch-errors-pass
counted = calls_after_check_module == 0 and calls_after_round_trip == 1
assert counted  # witness: round-trip-keeps-buffer-changes
assert stream_moved and by_three_passes  # witness: forward-draws-move-stream
assert other_checks_moved == [True, True]  # witness: other-checks-move-stream

"""Exercise: a fitted temperature kept as a Python float. The round trip catches it, but neither
the state_dict nor unsaved_tensors sees it; a buffer, or extra state, keeps it.

Needs extra_checks.py in the same folder.
"""

import io

import numpy as np
import torch
from extra_checks import check_round_trip, unsaved_tensors
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Temperature(nn.Module):
    """Divides its input by a temperature fitted on data: the spread of the data."""

    def __init__(self) -> None:
        super().__init__()
        self.temperature = 1.0  # the bug: a Python float, which no registry sees

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "Temperature":
        self.temperature = float(data.std())
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.temperature


class SavedTemperature(Temperature):
    """The fix: a persistent buffer, saved, loaded and moved with the module."""

    def __init__(self) -> None:
        super().__init__()
        del self.temperature
        self.register_buffer("temperature", torch.tensor(1.0))

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "SavedTemperature":
        self.temperature.fill_(data.std())
        return self


class ExtraStateTemperature(Temperature):
    """Another fix, for state that is not a tensor: extra state, which the state_dict carries."""

    def get_extra_state(self) -> dict:
        return {"temperature": self.temperature}

    def set_extra_state(self, state: dict) -> None:
        self.temperature = state["temperature"]


def outcome(module_class: type[Temperature], as_numpy: bool = False) -> str:
    """check_round_trip's report on a fitted module, or the error it raised."""
    torch.manual_seed(0)
    module = module_class().fit(torch.randn(100, 5) * 3.0).to(device)
    if as_numpy:
        module.temperature = np.float64(module.temperature)
    try:
        return check_round_trip(module, module_class, input_shape=(4, 5))
    except Exception as error:  # an AssertionError, or an error of torch.load
        return f"{type(error).__name__}: {error}"


classes = (Temperature, SavedTemperature, ExtraStateTemperature)
reports = [outcome(c) for c in classes]
keys = [list(c().state_dict()) for c in classes]
unsaved = [unsaved_tensors(c().fit(torch.randn(100, 5))) for c in classes]
for report, saved, not_saved in zip(reports, keys, unsaved):
    print(f"{report}\n  state_dict keys: {saved}, unsaved_tensors: {not_saved}")
# Extra state must be something torch.load(weights_only=True) accepts: a NumPy float is not,
# though it is a subclass of float. Pickle saves it as a call to the function that rebuilds a NumPy
# scalar (numpy._core.multiarray.scalar in NumPy 2), which the error names: not the type.
numpy_error = outcome(ExtraStateTemperature, as_numpy=True)
numpy_report = numpy_error.splitlines()[0]
print("extra state as a NumPy float:", numpy_report[:60])
start = numpy_error.find("Unsupported global")
print(" ", numpy_error[start:].split(" was not")[0])
rebuild = np.float64(1.0).__reduce__()[0]  # what pickle calls to rebuild the scalar: a function
saved = io.BytesIO()
torch.save({"temperature": np.float64(1.0)}, saved)
saved.seek(0)
try:  # allowing the type does not help: the function is still refused
    with torch.serialization.safe_globals([np.float64]):
        torch.load(saved, weights_only=True)
    type_allowed = "loads"
except Exception as error:
    type_allowed = str(error)
# Not fitted, the module holds the value every fresh instance starts with: nothing to catch.
unfitted_report = check_round_trip(Temperature().to(device), Temperature, input_shape=(4, 5))
print("not fitted:", unfitted_report)

same = "same output after a state_dict round trip"
no_hint = reports[0] == "AssertionError: Temperature: outputs differ after a state_dict round trip"
assert no_hint  # witness: caught-without-hint
assert keys[0] == [] and unsaved == [[], [], []]  # witness: float-invisible
assert reports[1].endswith(same) and keys[1] == ["temperature"]  # witness: buffer-fixes
assert reports[2].endswith(same) and keys[2] == ["_extra_state"]  # witness: extra-state-fixes
numpy_refused = numpy_report.startswith("UnpicklingError: Weights only load failed")
named = "multiarray.scalar" in numpy_error and rebuild.__name__ == "scalar"
named = named and not isinstance(rebuild, type) and "multiarray.scalar" in type_allowed
a_float = isinstance(np.float64(1.0), float) and type(np.std(np.ones(3))) is np.float64
assert numpy_refused and named and a_float  # witness: numpy-extra-state-refused
assert unfitted_report.endswith(same)  # witness: unfitted-passes

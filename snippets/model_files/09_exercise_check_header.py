"""Exercise: check that a safetensors file fits a model, reading only its header."""

import copy
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import _TYPES, load_file, save_file  # _TYPES: "F32" -> torch.float32, ...
from torch import nn


def check(path: Path, model: nn.Module) -> tuple[list[str], list[str]]:
    """What keeps the file from loading strictly, and the dtypes load_state_dict will convert."""
    expected = model.state_dict()
    problems, converted = [], []
    with safe_open(path, framework="pt") as file:
        names = set(file.keys())
        problems += [f"missing {name}" for name in sorted(set(expected) - names)]
        problems += [f"unexpected {name}" for name in sorted(names - set(expected))]
        for name in sorted(names & set(expected)):
            entry = file.get_slice(name)  # shape and dtype from the header: no tensor is read
            shape, dtype = tuple(entry.get_shape()), _TYPES[entry.get_dtype()]
            if shape != tuple(expected[name].shape):
                problems.append(f"{name}: shape {shape}, expected {tuple(expected[name].shape)}")
            elif dtype != expected[name].dtype:
                converted.append(f"{name}: {dtype} -> {expected[name].dtype}")
    return problems, converted


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
model.register_buffer("mask", torch.tensor([True, False, True]))  # a bool entry, as masks are
other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5), nn.Linear(5, 2))
half = copy.deepcopy(model).half()  # float16 weights; half() leaves the bool mask as it is
wide = copy.deepcopy(model).double()  # float64 weights, bool mask

with tempfile.TemporaryDirectory() as folder:
    sources = {"good": model, "other": other, "half": half, "wide": wide}
    files = {name: Path(folder) / f"{name}.safetensors" for name in sources}
    for name, source in sources.items():
        save_file(source.state_dict(), files[name])
    good = check(files["good"], model)
    bad = check(files["other"], model)
    halved = check(files["half"], model)
    wide_fits = check(files["wide"], wide)  # float64 and bool, read through safetensors' table
    # The float16 file into the float32 model: a strict load that converts as it copies.
    target = copy.deepcopy(model)
    result = target.load_state_dict(load_file(files["half"]))  # strict by default

print("good file:", good)
print("other file:", bad)
print("float16 file:", halved)
print("float64 file into a float64 model:", wide_fits)
print("strict load of the float16 file:", result, "| weight dtype:", target[0].weight.dtype)

assert good == ([], []) and wide_fits == ([], [])  # witness: good-file-fits
assert bad == (  # witness: bad-file-listed
    [
        "missing mask",
        "unexpected 3.bias",
        "unexpected 3.weight",
        "2.bias: shape (5,), expected (3,)",
        "2.weight: shape (5, 8), expected (3, 8)",
    ],
    [],
)
assert halved == (  # witness: dtype-listed
    [],
    [
        "0.bias: torch.float16 -> torch.float32",
        "0.weight: torch.float16 -> torch.float32",
        "2.bias: torch.float16 -> torch.float32",
        "2.weight: torch.float16 -> torch.float32",
    ],
)
assert (  # witness: dtype-converted-on-load
    result.missing_keys == [] == result.unexpected_keys
    and target[0].weight.dtype == torch.float32
    and torch.equal(target[0].weight, half[0].weight.float())
)

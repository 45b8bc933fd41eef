"""Exercise: check that a safetensors file fits a model, reading only its header."""

import copy
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def mismatches(path: Path, model: nn.Module) -> list[str]:
    """What keeps the file from loading strictly into the model; empty if nothing does."""
    expected = model.state_dict()
    problems = []
    with safe_open(path, framework="pt") as file:
        names = set(file.keys())
        problems += [f"missing {name}" for name in sorted(set(expected) - names)]
        problems += [f"unexpected {name}" for name in sorted(names - set(expected))]
        for name in sorted(names & set(expected)):
            entry = file.get_slice(name)  # shape and dtype from the header: no tensor is read
            shape, dtype = tuple(entry.get_shape()), DTYPES.get(entry.get_dtype())
            if shape != tuple(expected[name].shape) or dtype != expected[name].dtype:
                problems.append(f"{name}: {shape} {entry.get_dtype()}")
    return problems


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5), nn.Linear(5, 2))
half = copy.deepcopy(model).half()

with tempfile.TemporaryDirectory() as folder:
    good, bad, halved = (Path(folder) / f"{name}.safetensors" for name in ("good", "bad", "half"))
    save_file(model.state_dict(), good)
    save_file(other.state_dict(), bad)
    save_file(half.state_dict(), halved)
    good_problems = mismatches(good, model)
    bad_problems = mismatches(bad, model)
    half_problems = mismatches(halved, model)

print("good file:", good_problems)
print("other file:", bad_problems)
print("float16 file:", half_problems)

assert good_problems == []  # witness: good-file-fits
assert bad_problems == [  # witness: bad-file-listed
    "unexpected 3.bias",
    "unexpected 3.weight",
    "2.bias: (5,) F32",
    "2.weight: (5, 8) F32",
]
assert half_problems == [  # witness: dtype-listed
    "0.bias: (8,) F16",
    "0.weight: (8, 4) F16",
    "2.bias: (3,) F16",
    "2.weight: (3, 8) F16",
]

"""Exercise: check that a safetensors file fits a model, without copying its tensors."""

import copy
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn


def converts(source: torch.dtype, target: torch.dtype) -> bool:
    """Whether copy_, which load_state_dict uses, converts `source` to `target` (one element)."""
    try:
        torch.zeros(1, dtype=target).copy_(torch.zeros(1, dtype=source))
    except NotImplementedError:  # float4_e2m1fn_x2, to or from any other dtype
        return False
    return True


def filled_in(model: nn.Module, name: str) -> bool:
    """Whether loading a dict with no version, as load_file returns, supplies `name` itself."""
    owner, _, entry = name.rpartition(".")  # BatchNorm and InstanceNorm share the _NormBase class
    norm = isinstance(model.get_submodule(owner), nn.modules.batchnorm._NormBase)
    return norm and entry == "num_batches_tracked"


def check(path: Path, model: nn.Module) -> tuple[list[str], list[str]]:
    """What keeps the file from loading strictly, and the dtypes load_state_dict will convert."""
    expected = model.state_dict()
    problems, converted = [], []
    with safe_open(path, framework="pt") as file:
        names = set(file.keys())
        missing = [name for name in sorted(set(expected) - names) if not filled_in(model, name)]
        problems += [f"missing {name}" for name in missing]
        problems += [f"unexpected {name}" for name in sorted(names - set(expected))]
        for name in sorted(names & set(expected)):
            found = file.get_tensor(name)  # a view into the mapped file: nothing is copied
            shape, dtype = tuple(found.shape), found.dtype  # as load_file would give them
            want = tuple(expected[name].shape)
            if shape != want and not (want == () and shape == (1,)):  # (1,) loads into ()
                problems.append(f"{name}: shape {shape}, expected {want}")
            elif dtype != expected[name].dtype and not converts(dtype, expected[name].dtype):
                problems.append(f"{name}: {dtype} cannot be copied into {expected[name].dtype}")
            elif dtype != expected[name].dtype:
                converted.append(f"{name}: {dtype} -> {expected[name].dtype}")
    return problems, converted


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
model.register_buffer("mask", torch.tensor([True, False, True]))  # a bool entry, as masks are
other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5), nn.Linear(5, 2))
half = copy.deepcopy(model).half()  # float16 weights; half() leaves the bool mask as it is
wide = copy.deepcopy(model).double()  # float64 weights, bool mask
packed = nn.Module()  # 4-bit numbers two to a byte, and 8-bit scales: dtypes of quantized models
packed.register_buffer("values", torch.zeros(4, 3, dtype=torch.float4_e2m1fn_x2))
packed.register_buffer("scales", torch.zeros(4, dtype=torch.float8_e8m0fnu))
unpacked = nn.Module()  # the same buffers as plain bytes and float32 scales
unpacked.register_buffer("values", torch.zeros(4, 3, dtype=torch.uint8))
unpacked.register_buffer("scales", torch.zeros(4))
norm = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))  # a BatchNorm, and a 0-dim buffer
norm.register_buffer("scale", torch.tensor(2.0))

with tempfile.TemporaryDirectory() as folder:
    sources = {"good": model, "other": other, "half": half, "wide": wide, "packed": packed}
    files = {name: Path(folder) / f"{name}.safetensors" for name in sources}
    for name, source in sources.items():
        save_file(source.state_dict(), files[name])
    # A file without num_batches_tracked, and with a scale of shape (1,): both load strictly.
    lenient = {k: v for k, v in norm.state_dict().items() if "num_batches" not in k}
    save_file(lenient | {"scale": torch.tensor([3.0])}, Path(folder) / "lenient.safetensors")
    lenient_fits = check(Path(folder) / "lenient.safetensors", norm)
    norm_loaded = copy.deepcopy(norm)
    norm_result = norm_loaded.load_state_dict(load_file(Path(folder) / "lenient.safetensors"))
    versioned = OrderedDict(load_file(Path(folder) / "lenient.safetensors"))
    versioned._metadata = {"1": {"version": 2}}  # BatchNorm's version, as state_dict() records it
    versioned_result = copy.deepcopy(norm).load_state_dict(versioned, strict=False)
    good = check(files["good"], model)
    bad = check(files["other"], model)
    halved = check(files["half"], model)
    wide_fits = check(files["wide"], wide)
    packed_fits = check(files["packed"], packed)
    packed_into_unpacked = check(files["packed"], unpacked)
    try:  # what a strict load of that file does
        unpacked.load_state_dict(load_file(files["packed"]))
        unpacked_load = "loaded"
    except RuntimeError as error:
        unpacked_load = f"RuntimeError: {error}"
    with safe_open(files["packed"], framework="pt") as file:  # what the header itself says
        slices = {name: file.get_slice(name) for name in ("scales", "values")}
        header_entries = {n: (h.get_dtype(), h.get_shape()) for n, h in slices.items()}
    # The float16 file into the float32 model: a strict load that converts as it copies.
    target = copy.deepcopy(model)
    result = target.load_state_dict(load_file(files["half"]))  # strict by default
    # With assign=True the model takes the file's tensors as they are, dtype included.
    assigned = copy.deepcopy(model)
    assigned.load_state_dict(load_file(files["half"]), assign=True)

print("good file:", good)
print("other file:", bad)
print("float16 file:", halved)
print("float64 file into a float64 model:", wide_fits)
print("float4 and float8 buffers:", packed_fits, "| the header says", header_entries)
print("the same file into uint8 and float32 buffers:", packed_into_unpacked)
float4_refused = "not implemented for" in unpacked_load and "Float4_e2m1fn_x2" in unpacked_load
print("its strict load: a RuntimeError, copy_ not implemented for float4:", float4_refused)
print("strict load of the float16 file:", result, "| weight dtype:", target[0].weight.dtype)
print("with assign=True:", assigned[0].weight.dtype)
print("no num_batches_tracked, a scale of shape (1,):", lenient_fits, "| strict load:", end=" ")
print(norm_result, "| scale:", norm_loaded.scale)
print("the same dict with BatchNorm's version 2: missing", versioned_result.missing_keys)

assert good == ([], []) and wide_fits == ([], [])  # witness: good-file-fits
assert (  # witness: packed-dtypes
    packed_fits == ([], [])
    and header_entries == {"scales": ("F8_E8M0", [4]), "values": ("F4", [4, 6])}
    and tuple(packed.values.shape) == (4, 3)  # torch counts bytes of two 4-bit numbers
)
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
float4 = torch.float4_e2m1fn_x2
others = (torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float8_e8m0fnu)
float4_copies = [converts(float4, other) or converts(other, float4) for other in others]
assert not any(float4_copies)  # witness: float4-no-copy
assert (  # witness: float4-not-converted
    packed_into_unpacked[0] == ["values: torch.float4_e2m1fn_x2 cannot be copied into torch.uint8"]
    and packed_into_unpacked[1] == ["scales: torch.float8_e8m0fnu -> torch.float32"]
    and unpacked_load.startswith("RuntimeError")
    and float4_refused
)
assert (  # witness: dtype-converted-on-load
    result.missing_keys == [] == result.unexpected_keys
    and target[0].weight.dtype == torch.float32
    and torch.equal(target[0].weight, half[0].weight.float())
)
assert (  # witness: assign-keeps-dtype
    assigned[0].weight.dtype == torch.float16 and isinstance(assigned[0].weight, nn.Parameter)
)
assert (  # witness: lenient-load
    lenient_fits == ([], [])
    and norm_result.missing_keys == [] == norm_result.unexpected_keys
    and norm_loaded.scale.shape == ()
    and norm_loaded.scale.item() == 3.0
)
assert versioned_result.missing_keys == ["1.num_batches_tracked"]  # witness: no-version

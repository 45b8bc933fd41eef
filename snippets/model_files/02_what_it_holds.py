"""What a safetensors file holds: a JSON header of names, dtypes, shapes and offsets, then bytes."""

import io
import json
import pickle
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, load_file, save, save_file, save_model
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Linear(3, 2)
data = save(model.state_dict())

header_length = struct.unpack("<Q", data[:8])[0]  # the first 8 bytes: the header's length
header = json.loads(data[8 : 8 + header_length])  # then the header, JSON text
tensor_bytes = data[8 + header_length :]  # then the tensors' bytes, one after the other
raw_bytes = len(tensor_bytes)
print(json.dumps(header))
fields = sorted({field for entry in header.values() for field in entry})
in_file_order = sorted(header, key=lambda name: header[name]["data_offsets"])
numbers = b"".join(model.state_dict()[name].numpy().tobytes() for name in in_file_order)
print(f"fields per tensor: {fields}; {raw_bytes} bytes of data", end=" ")
print(f"are the numbers of {in_file_order}, in that order:", tensor_bytes == numbers)


def refusal(tensors: dict) -> str:
    try:
        save(tensors)
    except (ValueError, KeyError) as error:
        return f"{type(error).__name__}: {error}"
    return "saved"


def load_with_header(new_header: dict, data_bytes: bytes) -> str:
    """Load a file made of this header and these bytes: "loaded", or the loader's error."""
    text = json.dumps(new_header).encode()
    try:
        load(struct.pack("<Q", len(text)) + text + data_bytes)
    except SafetensorError as error:
        return f"SafetensorError: {error}"
    return "loaded"


# Anything that is not a tensor has no place in the file: save() refuses it.
step_error = refusal({"weight": torch.ones(2), "step": 10})
print("with an int:", step_error)

# An optimizer's state_dict holds tensors (the momentum buffers), but nested in dictionaries
# next to plain numbers (the learning rate, the momentum): the top-level "state" is refused.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.randn(4, 3)).sum().backward()
optimizer.step()
optimizer_state = optimizer.state_dict()
optimizer_error = refusal(optimizer_state)
print("an optimizer's state_dict:", optimizer_error)

# A random state that is a tensor is fine: torch's CPU generator state is a uint8 tensor.
rng_state = torch.get_rng_state()
rng_round_trip = load(save({"torch_rng": rng_state}))["torch_rng"]
print(f"torch.get_rng_state(): a {rng_state.dtype} tensor of {rng_state.numel()} bytes, saved")

# But only dense tensors, of the dtypes the format has a name for.
sparse_error = refusal({"sparse": torch.eye(3).to_sparse()})
complex_error = refusal({"complex": torch.zeros(2, dtype=torch.complex128)})
print("a sparse tensor:", sparse_error.split(" which")[0])
print("a complex128 tensor:", complex_error)

# A contiguous tensor is stored as its own elements, not its storage: big[:10] costs 40 bytes.
big = torch.arange(100_000, dtype=torch.float32)
view_file = save({"first_ten": big[:10]})
view_data_bytes = len(view_file) - 8 - struct.unpack("<Q", view_file[:8])[0]
print(f"big[:10] of a tensor of {big.numel()} elements: {view_data_bytes} bytes of data")

# save() copies each tensor's memory as it lies, so it takes only row-major (contiguous) tensors.
strided_error = refusal({"every_other": big[::2]})
print("big[::2]:", strided_error.split(" which")[0])
matrix = torch.arange(6.0).reshape(2, 3)
transposed_error = refusal({"transposed": matrix.t()})  # its own 6 numbers, column by column
print("matrix.t():", transposed_error.split(" which")[0])
packed = load(save({"every_other": big[::2].contiguous()}))["every_other"]

# A lazily conjugated view passes is_contiguous(): save() writes its memory, not its values.
conjugated = torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64).conj()  # memory: 1+2j, 3-4j
conj_saved = load(save({"z": conjugated}))["z"]
conj_resolved = load(save({"z": conjugated.resolve_conj()}))["z"]
conj_cloned = load(save({"z": conjugated.clone()}))["z"]
print(f"{conjugated} saved as {conj_saved}, after resolve_conj() or clone() as {conj_resolved}")
# The imaginary part of one of its numbers: a lazily negated view, contiguous too.
negated = conjugated[:1].imag  # value -2, memory 2
neg_saved = load(save({"y": negated}))["y"]
neg_after_resolve_conj = load(save({"y": negated.resolve_conj()}))["y"]
neg_cloned = load(save({"y": negated.clone()}))["y"]
print(f"{negated} saved as {neg_saved}, after resolve_conj() as {neg_after_resolve_conj},", end=" ")
print(f"after clone() as {neg_cloned}")
kept_lazy = conjugated.contiguous() is conjugated and negated.contiguous() is negated
print("contiguous() returns the lazy view itself:", kept_lazy)
if device.type == "cuda":  # save() first copies a GPU tensor to the CPU, and that copy conjugates
    on_gpu = torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64).to(device).conj()
    gpu_conj_saved = load(save({"z": on_gpu}))["z"]
    copied_to_cpu = on_gpu.to("cpu")  # the copy that save() makes first
    print(f"the same conj() view on {device}: saved as {gpu_conj_saved}")

# A channels_last convolution: its weight fills its own memory, but not in row-major order.
conv = torch.nn.Conv2d(3, 4, kernel_size=3).to(memory_format=torch.channels_last)
conv_error = refusal(conv.state_dict())
with tempfile.TemporaryDirectory() as folder:
    conv_path = Path(folder) / "conv.safetensors"
    save_model(conv, conv_path)  # force_contiguous=True by default: contiguous() copies first
    conv_saved = load_file(conv_path)
    try:
        save_model(conv, conv_path, force_contiguous=False)
        unforced = "saved"
    except ValueError as error:
        unforced = f"ValueError: {error}"
print("channels_last conv: save()", conv_error.split(":")[0], "| save_model() saved it")

# Two names on the same bytes: the header can write it, but the loader refuses such a file.
unchanged = load_with_header(header, tensor_bytes)  # the same header, written again: it loads
shared = dict(header)  # the Linear's two entries, and a third on the weight's bytes
shared["alias"] = header["weight"]
shared_error = load_with_header(shared, tensor_bytes)
# The message names one of the two, whichever the loader checks second: print up to the name.
print("a header with two names on one range of bytes:", shared_error.split(" for tensor")[0])
# Nor may bytes lie between two tensors: the weight moved 4 bytes on, after 4 unused bytes.
gap = dict(header, weight=dict(header["weight"], data_offsets=[12, 36]))
gap_error = load_with_header(gap, tensor_bytes[:8] + bytes(4) + tensor_bytes[8:])
print("a header with 4 bytes between bias and weight:", gap_error.split(" for tensor")[0])

# Loading runs no unpickler. Count every start of pickle's loaders while files are read back.
unpickler_starts = []
original_loaders = pickle.load, pickle.loads, pickle.Unpickler


class CountedUnpickler(pickle.Unpickler):
    def __init__(self, *args, **kwargs) -> None:
        unpickler_starts.append("pickle.Unpickler")
        super().__init__(*args, **kwargs)


def counted(loader):
    def counted_loader(*args, **kwargs):
        unpickler_starts.append(f"pickle.{loader.__name__}")
        return loader(*args, **kwargs)

    return counted_loader


pickle.load, pickle.loads = counted(pickle.load), counted(pickle.loads)
pickle.Unpickler = CountedUnpickler
try:
    with tempfile.TemporaryDirectory() as folder:
        linear_path = Path(folder) / "linear.safetensors"
        save_file(model.state_dict(), linear_path)
        from_file, from_bytes = load_file(linear_path), load(save(model.state_dict()))
    safetensors_starts = list(unpickler_starts)
    pickled = io.BytesIO()
    torch.save(model.state_dict(), pickled)
    pickled.seek(0)
    from_pickle = torch.load(pickled, weights_only=False)  # this one unpickles
    torch_load_starts = unpickler_starts[len(safetensors_starts) :]
finally:
    pickle.load, pickle.loads, pickle.Unpickler = original_loaders
print("pickle loaders started by load_file and load:", safetensors_starts, end=" | ")
print("by torch.load(..., weights_only=False):", torch_load_starts)

assert fields == ["data_offsets", "dtype", "shape"]  # witness: header-fields
assert tensor_bytes == numbers  # witness: only-tensor-bytes
assert step_error.startswith("ValueError: Key `step` is invalid")  # witness: int-refused
assert "expected torch.Tensor" in step_error
momentum = [entry["momentum_buffer"] for entry in optimizer_state["state"].values()]
assert (  # witness: optimizer-refused
    all(isinstance(buffer, torch.Tensor) for buffer in momentum)
    and optimizer_state["param_groups"][0]["lr"] == 0.1
    and optimizer_error.startswith("ValueError: Key `state` is invalid")
    and "<class 'dict'>" in optimizer_error
)
assert (  # witness: rng-saves
    rng_state.dtype == torch.uint8 and torch.equal(rng_round_trip, rng_state)
)
assert big[:10].untyped_storage().nbytes() == 400_000  # the view's storage: the whole tensor
assert view_data_bytes == 10 * 4  # witness: view-own-elements
assert sparse_error.startswith("ValueError: You are trying to save a sparse")  # witness: sparse
assert complex_error == "KeyError: torch.complex128"  # witness: complex128-refused
assert not big[::2].is_contiguous()
assert (  # witness: strided-refused
    strided_error.startswith("ValueError: You are trying to save a non contiguous tensor")
)
assert (  # witness: transposed-refused
    not matrix.t().is_contiguous()
    and matrix.t().untyped_storage().nbytes() == matrix.t().numel() * 4
    and transposed_error == strided_error.replace("every_other", "transposed")
)
assert torch.equal(packed, big[::2])
weight = conv.weight
assert (  # witness: channels-last-refused
    not weight.is_contiguous()
    and weight.untyped_storage().nbytes() == weight.numel() * weight.element_size()
    and conv_error == strided_error.replace("every_other", "weight")
)
assert (  # witness: conj-saved-unconjugated
    conjugated.is_contiguous()
    and conjugated.is_conj()
    and torch.equal(conj_saved, conjugated.conj())  # the memory, not the values 1-2j, 3+4j
    and torch.equal(conj_resolved, conjugated)
)
assert (  # witness: neg-saved-unnegated
    negated.is_contiguous()
    and negated.is_neg()
    and torch.equal(neg_saved, -negated)
    and torch.equal(neg_after_resolve_conj, -negated)  # resolve_conj() leaves the negation
)
assert (  # witness: clone-resolves
    kept_lazy
    and not conjugated.clone().is_conj()
    and not negated.clone().is_neg()
    and torch.equal(conj_cloned, conjugated)
    and torch.equal(neg_cloned, negated)
)
if device.type == "cuda":
    assert (  # witness: gpu-conj-resolved
        on_gpu.is_conj()
        and not copied_to_cpu.is_conj()  # the copy holds the conjugated values
        and torch.equal(copied_to_cpu, conjugated.resolve_conj())
        and torch.equal(gpu_conj_saved, conjugated.resolve_conj())
    )
assert (  # witness: save-model-contiguous
    torch.equal(conv_saved["weight"], weight)
    and unforced.startswith(conv_error.split(":")[0])
    and "non contiguous tensor" in unforced
)
assert shared["alias"]["data_offsets"] == shared["weight"]["data_offsets"]
assert (  # witness: no-shared-bytes
    unchanged == "loaded"
    and shared_error.startswith("SafetensorError")
    and "invalid offset for tensor" in shared_error
    and header["bias"]["data_offsets"] == [0, 8]  # so the gap lies at bytes 8 to 12
    and gap_error.startswith("SafetensorError")
    and "invalid offset for tensor `weight`" in gap_error
)
state = model.state_dict()  # after the optimizer's step
loaded_all = all(
    sorted(loaded) == sorted(state) and all(torch.equal(loaded[k], state[k]) for k in state)
    for loaded in (from_file, from_bytes)
)
assert not safetensors_starts and loaded_all  # witness: nothing-unpickled
assert torch_load_starts and torch.equal(from_pickle["weight"], state["weight"])  # the count works

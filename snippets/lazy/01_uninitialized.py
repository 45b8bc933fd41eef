"""A model of LazyLinear layers holds UninitializedParameters until its first forward pass."""

import inspect
import io
import math
import pickle
import warnings

import torch
from torch import nn

model = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
first = model[0]
print(model)

# The placeholder knows its dtype, device and requires_grad, but not its shape.
weight_type = type(first.weight).__name__
in_features_before = first.in_features
print(f"first.weight is {first.weight!r} ({weight_type}), in_features = {in_features_before}")
print(
    f"dtype {first.weight.dtype}, device {first.weight.device}, "
    f"requires_grad {first.weight.requires_grad}"
)
special = nn.LazyLinear(4, device="meta", dtype=torch.float64)  # or any other dtype and device
print(f"built with dtype and device: {special.weight.dtype}, {special.weight.device}")

# Most queries that need the shape fail...
try:
    sum(p.numel() for p in model.parameters())
except ValueError as error:
    numel_message = str(error)
    print(f"counting: {type(error).__name__}: {numel_message[:70]}...")
try:
    first.weight.shape
except RuntimeError as error:
    shape_message = str(error)
    print(f"shape:    {type(error).__name__}: {shape_message[:70]}...")
refusing = []
for name, query in [("dim()", first.weight.dim), ("len()", lambda: len(first.weight))]:
    try:
        query()
    except ValueError:
        refusing.append(name)
print("also raising:", ", ".join(refusing))

# ...but size() and every property but shape (ndim, nbytes, itemsize...) answer as for an empty
# tensor, and so does the empty tensor under .data: counting with size() gives 0 silently.
placeholder_size = first.weight.size()
placeholder_ndim = first.weight.ndim
placeholder_nbytes = first.weight.nbytes
placeholder_itemsize = first.weight.itemsize
data_numel, data_shape = first.weight.data.numel(), tuple(first.weight.data.shape)
# All the properties of a tensor (the getset descriptors of torch._C.TensorBase): which of them
# does the placeholder refuse, and which fail as they would on any empty 1-D tensor?
properties = [
    name for name, v in vars(torch._C.TensorBase).items() if inspect.isgetsetdescriptor(v)
]
refused_properties, failed_as_empty = [], []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # some properties are deprecated (volatile), or warn on 1-D (T)
    for name in properties:
        try:
            getattr(first.weight, name)
        except (ValueError, RuntimeError) as error:
            if "uninitialized" in str(error):  # the placeholder's own refusal
                refused_properties.append(name)
            else:
                failed_as_empty.append((name, str(error)))
# Each of the others fails with the very message it gives on an empty 1-D tensor.
on_empty = {}
for name, _ in failed_as_empty:
    try:
        getattr(torch.empty(0), name)
    except RuntimeError as error:
        on_empty[name] = str(error)
same_as_empty = all(on_empty.get(name) == message for name, message in failed_as_empty)
size_count = sum(math.prod(p.size()) for p in model.parameters())
print(
    f"size() {placeholder_size}, ndim {placeholder_ndim}, nbytes {placeholder_nbytes}, "
    f"itemsize {placeholder_itemsize}"
)
print(f".data: numel() {data_numel}, shape {data_shape}; count via size(): {size_count}")
print(f"of {len(properties)} tensor properties, the placeholder refuses:", *refused_properties)
print("  these fail as on an empty 1-D tensor:", ", ".join(name for name, _ in failed_as_empty))

# state_dict() does not fail: it hands back the placeholders, and the failure comes later.
state = model.state_dict()
state_entries = len(state)
state_types = sorted({type(value).__name__ for value in state.values()})
print(f"state_dict holds {state_entries} entries of type {state_types}")
buffer = io.BytesIO()
torch.save(state, buffer)  # saving works...
buffer.seek(0)
try:
    torch.load(buffer)  # ...but loading with the default weights_only=True does not
except pickle.UnpicklingError as error:
    load_message = str(error)
    print(f"loading:  {type(error).__name__}: {load_message.splitlines()[0][:70]}...")
buffer.seek(0)
old_default = torch.load(
    buffer, weights_only=False
)  # the default before PyTorch 2.6; trusted files only
old_default_types = sorted({type(value).__name__ for value in old_default.values()})
print("loading with weights_only=False gives back:", old_default_types)

assert weight_type == "UninitializedParameter" and in_features_before == 0
assert (  # witness: knows
    first.weight.dtype == torch.float32
    and first.weight.device == torch.device("cpu")
    and first.weight.requires_grad
    and special.weight.dtype == torch.float64
    and special.weight.is_meta
)
assert numel_message.startswith("Attempted to use an uninitialized")  # witness: numel-fails
assert shape_message.startswith("Can't access the shape")  # witness: shape-fails
assert refusing == ["dim()", "len()"]  # witness: dim-len-fail
assert (  # witness: size-empty
    placeholder_size == torch.Size([0]) and placeholder_ndim == 1 and placeholder_nbytes == 0
)
failing_names = [name for name, _ in failed_as_empty]
only_shape = refused_properties == ["shape"] and "mT" in failing_names and same_as_empty
assert (  # witness: properties-pass
    only_shape and placeholder_ndim == 1 and placeholder_itemsize == 4 and "dim()" in refusing
)
assert data_numel == 0 and data_shape == (0,)  # witness: data-empty
assert size_count == 0  # witness: size-count-zero
assert state_types == ["UninitializedParameter"]  # witness: state-placeholders
assert state_entries == 4
assert (  # witness: load-refuses
    load_message.startswith("Weights only load failed")
    and "GLOBAL torch.nn.parameter.UninitializedParameter" in load_message
)
assert old_default_types == ["UninitializedParameter"]  # witness: old-load-placeholders

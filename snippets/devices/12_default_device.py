"""The default device: what `with torch.device(...)` and set_default_device change, and not."""

import threading
import warnings

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode, handle_torch_function, has_torch_function_unary
from torch.utils._device import _device_constructors  # the list the default device consults

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
print("default device at start:", torch.get_default_device())

# The default device adds device= to calls of the functions in this list, and of no others; and
# some calls of listed functions it never sees, such as the deprecated torch.range (below).
listed = {function.__name__ for function in _device_constructors()}
named_in_the_list = ["empty", "zeros", "ones", "full", "arange", "linspace", "logspace", "eye"]
named_in_the_list += ["rand", "randn", "randint", "randperm", "hann_window", "sparse_coo_tensor"]
named_in_the_list += ["tensor", "as_tensor", "asarray", "scalar_tensor"]  # from data
print(f"{len(listed)} functions listed, among them:", ", ".join(named_in_the_list))
print("not listed:", ", ".join(name for name in ("from_numpy", "normal") if name not in listed))


@torch.jit.script  # TorchScript: its calls of torch.zeros do not go through Python
def scripted_zeros() -> torch.Tensor:
    return torch.zeros(3)


def plain_zeros(x: torch.Tensor) -> torch.Tensor:  # ordinary Python code
    return torch.zeros(3)


def dispatched_zeros(x: torch.Tensor) -> torch.Tensor:  # the same, made overridable
    if has_torch_function_unary(x):  # the pattern torch.overrides documents
        return handle_torch_function(dispatched_zeros, (x,), x)
    return torch.zeros(3)


class RecordCalls(TorchFunctionMode):
    """A mode of the same kind as the default device's: it notes each call that it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.seen.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


with RecordCalls() as recorder, warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # torch.range is deprecated, and says so
    torch.range(0, 2), torch.arange(3)
print("a mode sees torch.arange:", "arange" in recorder.seen, end=" | ")
print("torch.range:", "range" in recorder.seen)

existing = torch.ones(3)  # made before the block, on the CPU
array = np.ones(3, dtype=np.float32)
with torch.device("meta"):  # the meta device shows the effect on any machine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.range is deprecated, and says so
        listed_but_missed = torch.range(0, 2)
    made = {
        "torch.zeros(3)": torch.zeros(3),
        "torch.zeros(3, device=None)": torch.zeros(3, device=None),  # as nn.Linear passes it
        "torch.tensor([1.0, 2.0])": torch.tensor([1.0, 2.0]),
        "nn.Linear(3, 2).weight": nn.Linear(3, 2).weight,
        "torch.as_tensor(existing)": torch.as_tensor(existing),
        "torch.asarray(existing)": torch.asarray(existing),
        "torch.as_tensor(array)": torch.as_tensor(array),
        "torch.zeros(3, device='cpu')": torch.zeros(3, device="cpu"),
        "existing * 2": existing * 2,
        "torch.zeros_like(existing)": torch.zeros_like(existing),
        "existing.new_ones(3)": existing.new_ones(3),
        "torch.from_numpy(array)": torch.from_numpy(array),
        "torch.normal(0.0, 1.0, size=(3,))": torch.normal(0.0, 1.0, size=(3,)),
        "torch.Tensor(3)": torch.Tensor(3),  # the legacy constructors
        "torch.FloatTensor(3)": torch.FloatTensor(3),
        "scripted_zeros()": scripted_zeros(),
        "plain_zeros(existing)": plain_zeros(existing),
        "dispatched_zeros(existing)": dispatched_zeros(existing),
    }
    hands_off_in_block = has_torch_function_unary(existing)  # a plain tensor, under the mode
    try:  # an operation on an existing tensor, with a constant made inside the block
        existing * torch.tensor(2.0)
        constant_error = ""
    except RuntimeError as error:
        constant_error = str(error)
    scalar_joins = (existing.sum() * torch.tensor(2.0)).is_meta  # a 0-dim CPU tensor may join
where = {code: tensor.device.type for code, tensor in made.items()}
print("torch.range(0, 2), a listed function, inside the block on:", listed_but_missed.device)
width = max(map(len, where))
for code, device_type in where.items():
    print(f"  inside the block, {code:{width}} -> {device_type}")
after_block = torch.get_default_device()
outside_shares = (  # without a default device, these three return the data itself, no copy
    torch.as_tensor(existing) is existing
    and torch.asarray(existing) is existing
    and torch.as_tensor(array).data_ptr() == array.ctypes.data
)
array[0] = 7.0  # from_numpy shares the array's memory, so it must stay where the array is
shares_memory = made["torch.from_numpy(array)"][0].item() == 7.0
print("after the block:", after_block)
print("inside it, existing * torch.tensor(2.0) raised:", constant_error)

# The global setting: the same effect until it is changed back, in this thread only.
torch.set_default_device("meta")
try:
    global_zeros = torch.zeros(2).device.type
    in_other_thread = {}
    thread = threading.Thread(target=lambda: in_other_thread.update(zeros=torch.zeros(2).device))
    thread.start()
    thread.join()
    with torch.device("cpu"):  # a block inside the global setting
        inner_zeros = torch.zeros(2).device.type
    after_inner_block = torch.get_default_device()
finally:
    torch.set_default_device(None)  # None removes the setting; the default is the CPU again
other_thread_zeros = in_other_thread["zeros"].type
restored = torch.get_default_device()
print("set_default_device('meta'): torch.zeros(2) on", global_zeros, end=" | ")
print("in another thread on", other_thread_zeros)
print("  inside `with torch.device('cpu')` on", inner_zeros, "| after it:", after_inner_block)
print("after set_default_device(None):", restored, "| torch.zeros(2) on", torch.zeros(2).device)


follows_default = ["torch.zeros(3)", "torch.tensor([1.0, 2.0])", "nn.Linear(3, 2).weight"]
assert all(where[code] == "meta" for code in follows_default)  # witness: factories-follow
assert where["torch.zeros(3, device=None)"] == "meta"  # witness: none-filled-in
from_data = ["torch.as_tensor(existing)", "torch.asarray(existing)", "torch.as_tensor(array)"]
assert where["torch.tensor([1.0, 2.0])"] == "meta"  # witness: tensor-from-data-follows
assert all(where[code] == "meta" for code in from_data)  # witness: existing-data-moves
assert outside_shares  # witness: outside-shares
assert where["torch.zeros(3, device='cpu')"] == "cpu"  # witness: explicit-wins
assert where["existing * 2"] == "cpu"  # witness: existing-unaffected
constant_refused = "meta" in constant_error and "expected device" in constant_error
constant_refused = constant_refused and scalar_joins  # the CPU tensor's size is what fails
assert constant_refused  # witness: constant-follows
assert (
    where["torch.zeros_like(existing)"] == where["existing.new_ones(3)"] == "cpu"
)  # witness: like-follows-input
windows = {f"{kind}_window" for kind in ("bartlett", "blackman", "hamming", "hann", "kaiser")}
sparse = {f"sparse_{kind}_tensor" for kind in ("coo", "compressed", "csr", "csc", "bsr", "bsc")}
assert set(named_in_the_list) | windows | sparse <= listed  # witness: the-list
assert (
    "from_numpy" not in listed and where["torch.from_numpy(array)"] == "cpu" and shares_memory
)  # witness: from-numpy-stays
range_unseen = "range" not in recorder.seen and "arange" in recorder.seen
range_missed = "range" in listed and listed_but_missed.device.type == "cpu" and range_unseen
assert range_missed  # witness: range-listed-but-missed
not_covered = ["torch.normal(0.0, 1.0, size=(3,))", "torch.Tensor(3)", "torch.FloatTensor(3)"]
assert "normal" not in listed and all(
    where[code] == "cpu" for code in not_covered
)  # witness: not-covered-stay
assert (
    after_block == torch.device("cpu")
    and inner_zeros == "cpu"
    and after_inner_block == torch.device("meta")
)  # witness: block-restores
seen = where["torch.zeros(3)"]  # the same call made from Python: meta
assert where["scripted_zeros()"] == "cpu" != seen  # witness: script-not-seen
plain_follows = where["plain_zeros(existing)"] == "meta"
hands_off_only_under_mode = hands_off_in_block and not has_torch_function_unary(existing)
dispatched_on_cpu = where["dispatched_zeros(existing)"] == "cpu"
dispatch_hands_off = plain_follows and dispatched_on_cpu and hands_off_only_under_mode
assert dispatch_hands_off  # witness: dispatch-not-seen
assert global_zeros == "meta" and other_thread_zeros == "cpu"  # witness: per-thread
assert restored == torch.device("cpu") and torch.zeros(2).device.type == "cpu"  # witness: restored


# Called inside a block, with nothing set before it: a meta setting made inside a single cpu block
# stops applying to factory calls when the block ends.
with torch.device("cpu"):
    (block_mode,) = torch.overrides._get_current_function_mode_stack()  # the block's own mode
    torch.set_default_device("meta")
    inside_block = torch.zeros(2).device.type
after_block = torch.zeros(2).device.type
print("set_default_device('meta') inside a cpu block: torch.zeros(2) on", inside_block, end=" ")
print("| after the block:", after_block)
assert (inside_block, after_block) == ("meta", "cpu")  # witness: set-inside-block-ends
# set_default_device(None) then leaves a device mode active: the call had replaced the block's
# entry on torch's mode stack and kept it, the block's end removed the call's entry, and None puts
# the block's entry back. The snippet removes it with a private call.
torch.set_default_device(None)
mode_left_active = has_torch_function_unary(torch.ones(1))
modes = torch.overrides._get_current_function_mode_stack()
block_entry_back = len(modes) == 1 and modes[0] is block_mode
assert mode_left_active and block_entry_back  # witness: none-leaves-mode
torch._C._pop_torch_function_stack()
stack_clean = not torch.overrides._get_current_function_mode_stack()
assert stack_clean and torch.get_default_device() == torch.device("cpu") == torch.zeros(1).device

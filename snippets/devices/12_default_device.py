"""The default device: what `with torch.device(...)` and set_default_device change, and not."""

import threading

import numpy as np
import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
print("default device at start:", torch.get_default_device())

existing = torch.ones(3)  # made before the block, on the CPU
array = np.ones(3)
with torch.device("meta"):  # the meta device shows the effect on any machine
    made = {
        "torch.zeros(3)": torch.zeros(3),
        "torch.tensor([1.0, 2.0])": torch.tensor([1.0, 2.0]),
        "nn.Linear(3, 2).weight": nn.Linear(3, 2).weight,
        "torch.zeros(3, device='cpu')": torch.zeros(3, device="cpu"),
        "existing * 2": existing * 2,
        "torch.zeros_like(existing)": torch.zeros_like(existing),
        "existing.new_ones(3)": existing.new_ones(3),
        "torch.from_numpy(array)": torch.from_numpy(array),
    }
where = {code: tensor.device.type for code, tensor in made.items()}
for code, device_type in where.items():
    print(f"  inside the block, {code:29} -> {device_type}")
after_block = torch.get_default_device()
array[0] = 7.0  # from_numpy shares the array's memory, so it must stay where the array is
shares_memory = made["torch.from_numpy(array)"][0].item() == 7.0
print("after the block:", after_block)

# The global setting: the same effect until it is changed back, in this thread only.
torch.set_default_device("meta")
try:
    global_zeros = torch.zeros(2).device.type
    in_other_thread = {}
    thread = threading.Thread(target=lambda: in_other_thread.update(zeros=torch.zeros(2).device))
    thread.start()
    thread.join()
finally:
    torch.set_default_device(None)  # None removes the setting; the default is the CPU again
other_thread_zeros = in_other_thread["zeros"].type
restored = torch.get_default_device()
print("set_default_device('meta'): torch.zeros(2) on", global_zeros, end=" | ")
print("in another thread on", other_thread_zeros)
print("after set_default_device(None):", restored, "| torch.zeros(2) on", torch.zeros(2).device)

follows_default = ["torch.zeros(3)", "torch.tensor([1.0, 2.0])", "nn.Linear(3, 2).weight"]
assert all(where[code] == "meta" for code in follows_default)  # witness: factories-follow
assert where["torch.tensor([1.0, 2.0])"] == "meta"  # witness: tensor-from-data-follows
assert where["torch.zeros(3, device='cpu')"] == "cpu"  # witness: explicit-wins
assert where["existing * 2"] == "cpu"  # witness: existing-unaffected
assert (
    where["torch.zeros_like(existing)"] == where["existing.new_ones(3)"] == "cpu"
)  # witness: like-follows-input
assert where["torch.from_numpy(array)"] == "cpu" and shares_memory  # witness: from-numpy-shares
assert after_block == torch.device("cpu")  # witness: block-restores
assert global_zeros == "meta" and other_thread_zeros == "cpu"  # witness: per-thread
assert restored == torch.device("cpu") and torch.zeros(2).device.type == "cpu"  # witness: restored

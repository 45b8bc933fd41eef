"""Name devices, ask the accelerator API what this machine has, and create tensors on a device."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# A torch.device is only a name. Naming hardware the machine lacks is fine; using it is not.
gpu = torch.device("cuda")
first_gpu = torch.device("cuda", 0)  # the same as torch.device("cuda:0")
print(f"{gpu}: type {gpu.type!r}, index {gpu.index}")
print(f"{first_gpu}: type {first_gpu.type!r}, index {first_gpu.index}")
cuda_equals_cuda0 = gpu == first_gpu
print("torch.device('cuda') == torch.device('cuda:0'):", cuda_equals_cuda0)
allocation = "allocated"
if not torch.cuda.is_available():
    try:
        torch.zeros(1, device=gpu)
    except (AssertionError, RuntimeError) as error:  # the error depends on how torch was built
        allocation = f"{type(error).__name__}: {error}".splitlines()[0]
    print("allocating a tensor on cuda:", allocation)

# The accelerator API answers for whichever accelerator PyTorch was built for (CUDA, MPS, XPU, ...).
print("accelerator available:", torch.accelerator.is_available())
print("accelerator devices:  ", torch.accelerator.device_count())
print("current accelerator:  ", torch.accelerator.current_accelerator())

# Factory functions take device=, so the tensor is born where it is needed.
x = torch.zeros(2, 3, device=device)
print("x.device:", x.device, " x.device == device:", x.device == device)
same_type = x.device.type == device.type
print("x.device.type == device.type:", same_type)

assert gpu.type == first_gpu.type == "cuda"
assert gpu.index is None and first_gpu.index == 0
assert cuda_equals_cuda0 is False  # witness: cuda-is-not-cuda0
assert (allocation == "allocated") == torch.cuda.is_available()  # witness: naming-is-not-using
assert same_type  # witness: created-on-device
assert device.type == "cpu" or torch.accelerator.is_available()
if not torch.accelerator.is_available():  # even in a build made for an accelerator
    checked = torch.accelerator.current_accelerator(check_available=True)
    assert checked is None  # witness: unavailable-is-none
if device.type == "cuda":  # a tensor reports its index; one GPU cannot tell "current" from 0
    on_gpu = torch.zeros(1, device=gpu)
    on_current = on_gpu.device.index == torch.cuda.current_device()
    assert on_current and on_gpu.device == first_gpu  # witness: lands-on-cuda0
    assert device.index is None and x.device.index is not None  # witness: tensor-has-index
    assert x.device != device

"""Which PyTorch and which device ran the examples in this build."""

import platform

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
device_name = (
    torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
)

torch_version = torch.__version__
print(f"Python {platform.python_version()}, torch {torch_version}")
print(f"device: {device} ({device_name})")

x = torch.ones(2, 3, device=device)
assert x.device.type == device.type and x.sum().item() == 6

"""Which GPUs a process sees: device indices, and CUDA_VISIBLE_DEVICES set before CUDA starts."""

# guide: timeout=60

import os
import subprocess
import sys

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# An index is part of the name. Nothing checks that the machine has a second GPU until a tensor
# is allocated there.
second = torch.device("cuda:1")
print(f"{second}: type {second.type!r}, index {second.index}")
print("CUDA devices this process sees:", torch.cuda.device_count())

# CUDA reads CUDA_VISIBLE_DEVICES once, when it starts in a process. The safe place to set it is
# outside the program, in the command that starts it; here, for a child process.
child_code = (
    "import torch; print(torch.cuda.device_count()); "
    "print(torch.accelerator.current_accelerator(check_available=True) or torch.device('cpu'))"
)
child = subprocess.run(
    [sys.executable, "-c", child_code],
    env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    capture_output=True,
    text=True,
    check=True,
)
hidden_count, hidden_choice = child.stdout.split()
hidden_count = int(hidden_count)
print(
    'with CUDA_VISIBLE_DEVICES="": CUDA devices',
    hidden_count,
    "| the guide's line picks",
    hidden_choice,
)

if device.type == "cuda":
    # The device line has already started the CUDA driver, which read the variable then. Setting
    # it afterwards, in Python, hides nothing: shown in a child process that runs the same line.
    late_code = (
        "import os, torch; "
        "device = torch.accelerator.current_accelerator(check_available=True); "
        "os.environ['CUDA_VISIBLE_DEVICES'] = ''; "
        "print(torch.ones(1, device=device).device.type)"
    )
    without_switch = {k: v for k, v in os.environ.items() if k != "PYTORCH_NVML_BASED_CUDA_CHECK"}
    late = subprocess.run(
        [sys.executable, "-c", late_code],
        env=without_switch,
        capture_output=True,
        text=True,
        check=True,
    )
    late_choice = late.stdout.strip()
    print("CUDA_VISIBLE_DEVICES='' set after the device line: a tensor still goes to", late_choice)
    # With PYTORCH_NVML_BASED_CUDA_CHECK=1 the device line asks NVML and leaves CUDA unstarted,
    # so the late setting does hide the GPU: the allocation fails.
    nvml_code = (
        "import os, torch\n"
        "device = torch.accelerator.current_accelerator(check_available=True)\n"
        "os.environ['CUDA_VISIBLE_DEVICES'] = ''\n"
        "try:\n    print(device, torch.ones(1, device=device).device.type)\n"
        "except RuntimeError as error:\n    print(device, type(error).__name__, error)\n"
    )
    nvml_late = subprocess.run(
        [sys.executable, "-c", nvml_code],
        env={**os.environ, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print("the same with PYTORCH_NVML_BASED_CUDA_CHECK=1: device line and allocation:", nvml_late)

assert second.type == "cuda" and second.index == 1  # witness: index-is-a-name
assert hidden_count == 0  # witness: hidden-count-zero
assert hidden_choice == "cpu"  # witness: hidden-picks-cpu
if device.type == "cuda":
    assert torch.cuda.device_count() >= 1 > hidden_count  # witness: parent-sees-gpu
    assert late_choice == "cuda"  # witness: late-setting-ignored
    nvml_device, nvml_outcome = nvml_late.split(maxsplit=1)
    assert nvml_device == "cuda" and "Error" in nvml_outcome  # witness: nvml-late-hides

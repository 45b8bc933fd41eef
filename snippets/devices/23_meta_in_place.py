"""On meta, multiplication and fmod_ refuse a CPU tensor, but add_ (+=), *= and // do not."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)


class HardCodedInPlace(nn.Module):
    """The mask of HardCoded in 05_forward_tensors.py, applied in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(x.shape[-1])  # on the CPU, wherever x is
        mask[0] = 0
        x = x.clone()
        x *= mask
        return x


def outcome(call, x: torch.Tensor) -> str:
    try:
        return f"runs, output on {call(x).device}"
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]


cpu_row = torch.ones(4)
calls = {  # each call meets a tensor left on the CPU
    "x * cpu_row": lambda x: x * cpu_row,
    "x.clone().fmod_(cpu_row)": lambda x: x.clone().fmod_(cpu_row),  # in place, and refused
    "x.clone().add_(cpu_row)": lambda x: x.clone().add_(cpu_row),  # what x += cpu_row does
    "x // cpu_row": lambda x: x // cpu_row,
    "HardCodedInPlace()(x)": HardCodedInPlace(),
}
results = {}
for code, call in calls.items():
    on_meta = outcome(call, torch.ones(2, 4, device="meta"))
    on_device = outcome(call, torch.ones(2, 4, device=device))
    results[code] = on_meta, on_device
    print(f"{code}\n  on meta: {on_meta}\n  on {device}: {on_device}")

refused, missed = list(calls)[:2], list(calls)[2:]
refusal = "Tensor on device cpu is not on the expected device meta"
refuse_the_cpu = all(refusal in results[code][0] for code in refused)
run_with_it = all(results[code][0] == "runs, output on meta" for code in missed)
assert refuse_the_cpu and run_with_it  # witness: meta-misses
if device.type == "cuda":
    assert all("same device" in results[code][1] for code in calls)  # witness: cuda-refuses-all

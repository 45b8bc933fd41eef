"""A pinned buffer of your own: pin_memory=True in a factory function needs an accelerator too."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

factories = {
    "torch.empty(4, 3, pin_memory=True)": lambda: torch.empty(4, 3, pin_memory=True),
    "torch.zeros(4, 3, pin_memory=True)": lambda: torch.zeros(4, 3, pin_memory=True),
    "torch.tensor([1.0], pin_memory=True)": lambda: torch.tensor([1.0], pin_memory=True),
}
outcomes = {}
for call, factory in factories.items():
    try:
        outcomes[call] = f"pinned: {factory().is_pinned()}"
    except RuntimeError as error:
        outcomes[call] = f"{type(error).__name__}: {error}".splitlines()[0]
    print(call, "->", outcomes[call])

# Where there may be no accelerator, ask for pinned memory only where it can be had.
buffer = torch.empty(4, 3, pin_memory=device.type == "cuda")
print("torch.empty(4, 3, pin_memory=device.type == 'cuda') is pinned:", buffer.is_pinned())

refused = all(outcome.startswith("RuntimeError") for outcome in outcomes.values())
if not torch.accelerator.is_available():
    assert refused  # witness: factory-pin-raises
if device.type == "cuda":
    assert all(o == "pinned: True" for o in outcomes.values()) and buffer.is_pinned()

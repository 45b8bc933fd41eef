"""Exercise: when does GradScaler raise the scale again, and what resets its count?"""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
# Small numbers for the demonstration; the defaults are 65536 and 2000.
scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
x = torch.rand(1, 4)

scales = []
for step in range(8):
    optimizer.zero_grad()
    batch = x * 1e4 if step == 4 else x  # step 4 gets a batch whose gradients overflow
    with torch.autocast("cpu", dtype=torch.float16):
        loss = model(batch).float().sum()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    scales.append(scaler.get_scale())
    print(f"after step {step}: scale {scales[-1]:g}")

defaults = torch.amp.GradScaler("cpu")
default_growth_interval = defaults.get_growth_interval()
default_growth_factor = defaults.get_growth_factor()
default_backoff_factor = defaults.get_backoff_factor()
print(f"defaults: growth_interval {default_growth_interval}, ", end="")
print(f"growth_factor {default_growth_factor}, backoff_factor {default_backoff_factor}")

assert scales[:3] == [1024.0, 1024.0, 2048.0]  # witness: grows-after-interval
assert scales[4] == scales[3] / 2  # witness: overflow-halves
assert scales[5:] == [1024.0, 1024.0, 2048.0]  # witness: count-restarts
assert (default_growth_interval, default_growth_factor, default_backoff_factor) == (2000, 2.0, 0.5)

# guide: figure=dropout_and_batchnorm.svg
"""Dropout's output in training and evaluation mode, and batch norm's running statistics
following the data over training steps, then frozen by eval()."""

import matplotlib

matplotlib.use("Agg")  # no window: the file is the result
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import to_rgba
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
plt.rcParams["svg.fonttype"] = "none"  # text stays text

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# Dropout: one row of values through the same layer in each mode.
torch.manual_seed(0)
dropout = nn.Dropout(p=0.5)
x = torch.arange(1.0, 11.0, device=device)
rows = {"input x": x, "train()": dropout.train()(x), "eval()": dropout.eval()(x)}
train_row, eval_row = rows["train()"], rows["eval()"]
zeroed = int((train_row == 0).sum())
survivors_doubled = torch.equal(train_row[train_row != 0], 2 * x[train_row != 0])
eval_unchanged = torch.equal(eval_row, x)

# Batch norm: batches drawn from data with mean 3 and variance 4, in training mode, then eval().
train_steps, eval_steps, batch = 50, 15, 64
torch.manual_seed(0)
data = (3 + 2 * torch.randn(train_steps + eval_steps, batch, 1)).to(device)
data_mean, data_var = data[:train_steps].mean().item(), data[:train_steps].var().item()
bn = nn.BatchNorm1d(1).to(device)
history = [(bn.running_mean.item(), bn.running_var.item())]  # step 0: the initial 0 and 1
by_hand = [(0.0, 1.0)]  # the same moving average, computed from each batch's statistics
for step, batch_values in enumerate(data, start=1):
    if step == train_steps + 1:
        bn.eval()
    bn(batch_values)
    history.append((bn.running_mean.item(), bn.running_var.item()))
    old_mean, old_var = by_hand[-1]
    if bn.training:
        new_mean, new_var = batch_values.mean().item(), batch_values.var().item()  # unbiased
        old_mean, old_var = 0.9 * old_mean + 0.1 * new_mean, 0.9 * old_var + 0.1 * new_var
    by_hand.append((old_mean, old_var))
running_mean, running_var = history[train_steps]
frozen = all(h == history[train_steps] for h in history[train_steps:])

fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.4), gridspec_kw={"width_ratios": [1, 1.6]})
fills = {"input x": "white", "train()": to_rgba("C1", 0.4), "eval()": to_rgba("C0", 0.4)}
for c, (label, values) in enumerate(rows.items()):  # one column per row of values
    left.text(c, 0.8, label, ha="center", va="center", fontsize=9)
    for r, value in enumerate(values.tolist()):
        fill = "white" if value == 0 else fills[label]
        cell = plt.Rectangle((c - 0.42, -r - 0.42), 0.84, 0.84, fc=fill, ec="black", lw=0.8)
        left.add_patch(cell)
        left.text(c, -r, f"{value:g}", ha="center", va="center", fontsize=9)
left.set_xlim(-0.6, len(rows) - 0.4)
left.set_ylim(-len(x) + 0.4, 1.3)
left.axis("off")
left.set_title("nn.Dropout(p=0.5)", fontsize=10)

steps = range(len(history))
right.plot(steps, [m for m, _ in history], color="C0", label="running_mean")
right.plot(steps, [v for _, v in history], color="C1", label="running_var")
right.axhline(
    data_mean, color="C0", ls="--", lw=0.9, label=f"training data's mean, {data_mean:.2f}"
)
right.axhline(
    data_var, color="C1", ls="--", lw=0.9, label=f"training data's variance, {data_var:.2f}"
)
right.axvline(train_steps, color="black", ls=":", lw=0.9)
right.text(train_steps + 1, 0.3, "eval()", fontsize=8)
right.text(train_steps - 1, 0.3, "train()", fontsize=8, ha="right")
right.set_xlabel("batches seen", fontsize=9)
right.set_title("nn.BatchNorm1d: running statistics", fontsize=10)
right.legend(fontsize=8, frameon=False, loc="center right")
right.set_xlim(0, len(history) - 1)
right.tick_params(labelsize=8, color="black", labelcolor="black")
for spine in right.spines.values():
    spine.set_color("black")
fig.tight_layout()
fig.savefig("dropout_and_batchnorm.svg", metadata={"Date": None})

for label, values in rows.items():
    print(f"{label:8}", " ".join(f"{v:4g}" for v in values.tolist()))
print(f"training batches: mean {data_mean:.3f}, variance {data_var:.3f}")
for step in (0, 1, 10, 30, train_steps, len(history) - 1):
    mean, var = history[step]
    print(f"after {step:2d} batches: running_mean {mean:.3f}, running_var {var:.3f}")

assert 0 < zeroed < len(x) and survivors_doubled  # witness: zeros-and-doubled
assert eval_unchanged  # witness: eval-unchanged
assert all(  # witness: moving-average
    abs(m - hm) < 1e-4 and abs(v - hv) < 1e-4 for (m, v), (hm, hv) in zip(history, by_hand)
)
assert abs(running_mean - data_mean) < 0.3 and abs(running_var - data_var) < 0.3  # witness: near
assert abs(history[5][0] - data_mean) > 1  # witness: far-after-few
assert frozen  # witness: eval-freezes

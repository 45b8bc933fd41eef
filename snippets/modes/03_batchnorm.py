"""BatchNorm normalizes with the batch's statistics and updates its running ones in training mode;
in evaluation mode it uses the running statistics and leaves them alone."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

bn = nn.BatchNorm1d(1).to(device)  # one feature; weight 1, bias 0
initial_statistics = (bn.running_mean.item(), bn.running_var.item())
momentum, eps = bn.momentum, bn.eps  # the defaults: the weight of a new value, a guard against 0
keep = 1 - momentum  # the weight of the old value
print(f"momentum {momentum}, eps {eps}")
x = torch.tensor([[1.0], [2.0], [3.0], [4.0]], device=device)
batch_mean = x.mean().item()
batch_var_biased = x.var(correction=0).item()  # used to normalize this batch
batch_var_unbiased = x.var(correction=1).item()  # used to update the running variance

# Training mode: normalize with the batch statistics, then update the running statistics.
train_out = bn(x)
train_first = train_out[0].item()
expected = (x - batch_mean) / (batch_var_biased + bn.eps) ** 0.5
running_mean = bn.running_mean.item()  # keep * 0 + momentum * 2.5
running_var = bn.running_var.item()  # keep * 1 + momentum * 1.6667
tracked = bn.num_batches_tracked.item()
print(
    "batch mean",
    batch_mean,
    "| variance: biased",
    batch_var_biased,
    "unbiased",
    round(batch_var_unbiased, 4),
)
print("train output:", [round(v, 4) for v in train_out.flatten().tolist()])
print(f"running mean {running_mean:.4f}, running var {running_var:.4f}, batches tracked {tracked}")

# Evaluation mode: normalize with the running statistics; they do not change.
bn.eval()
eval_out = bn(x)
eval_expected = (x - running_mean) / (running_var + bn.eps) ** 0.5
eval_first = eval_out[0].item()
print("eval output: ", [round(v, 4) for v in eval_out.flatten().tolist()])
unchanged = bn.running_mean.item() == running_mean and bn.num_batches_tracked.item() == tracked
print("running statistics unchanged by the eval pass:", unchanged)

# torch.no_grad() is not a mode switch: in training mode the statistics still move.
under_no_grad = nn.BatchNorm1d(1).to(device)
with torch.no_grad():
    no_grad_out = under_no_grad(x)
no_grad_uses_batch = torch.allclose(no_grad_out, train_out, atol=1e-5)
no_grad_updates = under_no_grad.num_batches_tracked.item() == 1
print("training mode under no_grad: batch statistics used", no_grad_uses_batch, end="")
print(", running statistics updated", no_grad_updates)

# A batch of one example has no spread: training mode refuses it, evaluation mode does not.
single = torch.tensor([[1.0]], device=device)
eval_single = bn(single).item()
bn.train()
try:
    bn(single)
except ValueError as error:
    message = f"{type(error).__name__}: {error}"
print(message)

assert initial_statistics == (0.0, 1.0)  # witness: starts-at-zero-and-one
assert abs(batch_mean - 2.5) < 1e-6 and abs(batch_var_biased - 1.25) < 1e-6
assert abs(batch_var_unbiased - 5 / 3) < 1e-6
assert momentum == 0.1 and abs(keep - 0.9) < 1e-12 and eps == 1e-5
assert torch.allclose(train_out, expected, atol=1e-5)  # witness: train-uses-batch
assert abs(running_mean - 0.25) < 1e-6  # witness: momentum-weights-new-value
assert abs(running_var - (0.9 + 0.1 * 5 / 3)) < 1e-6  # witness: unbiased-update
assert tracked == 1
assert torch.allclose(eval_out, eval_expected, atol=1e-5)  # witness: eval-uses-running
assert unchanged  # witness: eval-leaves-statistics
assert no_grad_uses_batch and no_grad_updates  # witness: no-grad-is-not-a-mode
assert abs(eval_first - eval_single) < 1e-6  # witness: eval-accepts-one
assert message.startswith("ValueError: Expected more than 1 value per channel when training")

"""Exercise: check_module on Linear -> BatchNorm1d. The bias before batch norm has nothing to learn;
without it the check passes and leaves the running statistics untouched.

Needs module_check.py in the same folder.
"""

import torch
from module_check import check_module, default_grad_rtol
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
x = torch.randn(4, 5).to(device)
with_bias = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)).to(device)
try:
    check_module(with_bias, input_shape=(4, 5), expected_output_shape=(4, 3))
    message = ""
except AssertionError as error:
    message = str(error)
print(message)

# In training mode batch norm subtracts the batch mean of each feature, and with it any constant
# added before it: shifting the linear layer's bias changes nothing, and its gradient is noise.
saved_bias = with_bias[0].bias.detach().clone()
with torch.no_grad():
    output = with_bias(x)
    with_bias[0].bias.add_(1.0)
    bias_irrelevant = torch.allclose(with_bias(x), output, atol=1e-4)
    with_bias[0].bias.copy_(saved_bias)  # exactly as it was: sub_(1.0) could round
(with_bias(x) * torch.randn(4, 3).to(device)).sum().backward()
bias_grad = with_bias[0].bias.grad.abs().max().item()
weight_grad = with_bias[0].weight.grad.abs().max().item()
print("output unchanged when the bias grows by 1:", bias_irrelevant)
print(
    f"largest gradient entry: weight {weight_grad:.1f}, bias {bias_grad:.0e}",
    "(noise: varies by machine)",
)

# In bfloat16 the noise is far larger, above float32's threshold; check 3 works in float32.
low = nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)).to(device, torch.bfloat16)
low_x = x.bfloat16().requires_grad_()
(low(low_x) * torch.randn(4, 3).to(low[0].weight)).sum().backward()
# bfloat16's own threshold, 64 eps, would be half the largest entry: real gradients fall below it.
bf16_rtol, f16_rtol = default_grad_rtol(torch.bfloat16), default_grad_rtol(torch.float16)
low_grads = {n: p.grad.abs().max().item() for n, p in low.named_parameters() if n != "0.bias"}
low_grads["the input"] = low_x.grad.abs().max().item()
low_noise = low[0].bias.grad.abs().max().item() / max(low_grads.values())  # as check 3 measures
bf16_threshold = bf16_rtol * max(low_grads.values())
below_bf16_rtol = sorted(n for n, g in low_grads.items() if g <= bf16_threshold)
try:
    check_module(low, input_shape=(4, 5), expected_output_shape=(4, 3))
    low_message = ""
except AssertionError as error:
    low_message = str(error)
# Told that the bias should stay fixed, it passes: its report shows the threshold it used.
low_others = [n for n, _ in low.named_parameters() if n != "0.bias"]
low_rtol = check_module(low, (4, 5), (4, 3), trainable=low_others).grad_rtol
print(f"bfloat16: bias noise {low_noise:.0e} of the largest gradient entry; {low_message}")
print(f"  without the bias, it passes; grad_rtol used: {low_rtol:.1e}")
print(f"  real bfloat16 gradients below {bf16_rtol} of the largest: {below_bf16_rtol}")

model = nn.Sequential(nn.Linear(5, 3, bias=False), nn.BatchNorm1d(3)).to(device)
before = {key: value.clone() for key, value in model.state_dict().items()}
print(check_module(model, input_shape=(4, 5), expected_output_shape=(4, 3)))
unchanged = all(torch.equal(before[key], value) for key, value in model.state_dict().items())
still_training = model.training
print("state_dict unchanged:", unchanged, " still in training mode:", still_training)

# A part frozen with eval() stays frozen: the helper restores each submodule's own mode.
model[1].eval()
bn_modes = []  # yet the helper's module.train() reaches it: it trains in the first pass
hook = model[1].register_forward_pre_hook(lambda m, args: bn_modes.append(m.training))
check_module(model, input_shape=(4, 5), expected_output_shape=(4, 3))
hook.remove()
print("frozen batch norm's mode in the check's passes:", bn_modes)
modes_after = [m.training for m in model.modules()]
print("modes after checking with a frozen batch norm (model, linear, batch norm):", modes_after)
model.train()  # one call sets the mode of every submodule: the batch norm is unfrozen
modes_after_train = [m.training for m in model.modules()]
print("modes after model.train():", modes_after_train)

# Why check 5 runs in eval mode: in training mode the statistics come from the batch, so the
# first two examples give other outputs in a batch of 4 than in a batch of 2.
with torch.no_grad():
    train_mode_differs = not torch.allclose(model(x)[:2], model(x[:2]), atol=1e-5)
print(
    "training mode, first two examples in a batch of 4 vs alone as a pair differ:",
    train_mode_differs,
)
# In eval mode batch norm uses its running statistics instead, whatever the batch.
model.eval()
with torch.no_grad():
    norm, hidden = model[1], model[0](x)
    by_hand = (hidden - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)
    uses_running_statistics = torch.allclose(model(x), by_hand * norm.weight + norm.bias, atol=1e-5)
    eval_mode_same = torch.allclose(model(x)[:2], model(x[:2]), atol=1e-5)
print("eval mode: running statistics used:", uses_running_statistics, " same:", eval_mode_same)

assert message == "Sequential: no gradient reached ['0.bias']"
assert bias_irrelevant  # witness: bias-irrelevant
assert bias_grad < 1e-5 * weight_grad  # witness: bias-grad-noise
if device.type == "cpu":
    assert bias_grad > 0.0  # witness: bias-grad-not-zero
low_caught = low_message == message and low_rtol == default_grad_rtol(torch.float32)
assert low_noise > default_grad_rtol(torch.float32) and low_caught  # witness: low-precision-noise
# Real: the float32 check above, told that only the linear bias stays fixed, found them reached.
real_below = {"1.bias", "the input"} <= set(below_bf16_rtol) and low_caught
assert real_below and bf16_rtol == 0.5  # witness: bf16-threshold-too-coarse
assert unchanged and still_training  # witness: bn-stats-restored
assert train_mode_differs  # witness: train-mode-couples
assert modes_after == [True, True, False]  # witness: frozen-part-stays-frozen
assert bn_modes[0] and not any(bn_modes[1:])  # witness: frozen-part-trained-in-checks
assert modes_after_train == [True, True, True]  # witness: train-sets-every-submodule
assert uses_running_statistics and eval_mode_same  # witness: eval-uses-running-stats

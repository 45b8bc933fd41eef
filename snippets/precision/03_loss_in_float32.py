"""A loss written by hand inside CPU autocast runs in bfloat16; compute it in float32 instead."""

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 10))
x, target = torch.randn(256, 16), torch.randint(0, 10, (256,))

with torch.autocast("cpu", dtype=torch.bfloat16):
    logits = model(x)  # bfloat16
    library_loss = F.cross_entropy(logits, target)  # on CPU's float32 list: logits cast up
    picked = logits.log_softmax(dim=-1).gather(1, target[:, None])
    hand_loss = -picked.mean()  # written by hand: every step follows its bfloat16 input
outside_loss = F.cross_entropy(logits.float(), target)  # outside autocast, in float32

# The reference: the same bfloat16 logits, with the loss computed in float64.
exact = F.cross_entropy(logits.double(), target).item()
hand_error = abs(hand_loss.item() - exact)
outside_error = abs(outside_loss.item() - exact)
print(f"cross_entropy inside autocast: {library_loss.dtype}, {library_loss.item():.6f}")
print(f"loss by hand inside autocast:  {hand_loss.dtype}, {hand_loss.item():.6f}")
print(f"loss outside, in float32:      {outside_loss.dtype}, {outside_loss.item():.6f}")
print(f"error of the loss itself: bfloat16 {hand_error:.1e}, float32 {outside_error:.1e}")
# Where the bfloat16 error comes from: the mean of the bfloat16 log-probabilities, taken in
# float32 (or float64), is close to exact; rounding that one scalar to bfloat16 makes the error.
rounded_float32_mean = (-picked.float().mean()).bfloat16().item()
before_rounding_error = abs(-picked.double().mean().item() - exact)
exact_picked = logits.double().log_softmax(dim=-1).gather(1, target[:, None])
element_errors = picked.double() - exact_picked  # of each bfloat16 log-probability
element_error = element_errors.abs().max().item()
mean_element_error = element_errors.abs().mean().item()
print(f"error of a log-probability: {mean_element_error:.1e} on average, {element_error:.1e} max")
print(f"error of the bfloat16 mean before its final rounding: {before_rounding_error:.1e}")
print(f"float32 mean of the log-probabilities, rounded to bfloat16: {rounded_float32_mean}")
# The same test on the first n log-probabilities, for every n: the bfloat16 mean is always the
# float32 mean rounded once, while rounding the sum to bfloat16 before dividing would differ.
prefixes = [picked[:n] for n in range(1, len(picked) + 1)]
rounded_once = sum(bool(p.mean() == p.float().mean().bfloat16()) for p in prefixes)
twice_differs = sum(bool(p.sum() / p.numel() != p.float().mean().bfloat16()) for p in prefixes)
print(f"means of the first n, n = 1..{len(prefixes)}: {rounded_once} are the float32 mean rounded")
print(f"    once; summing in bfloat16 and then dividing would change {twice_differs} of them")

# A bfloat16 scalar has few values to take: near the loss, neighbours are this far apart.
loss_bf16 = outside_loss.detach().bfloat16()
spacing = (torch.nextafter(loss_bf16, loss_bf16 + 1) - loss_bf16).item()
half_spacing = spacing / 2  # the most that rounding to bfloat16 can move a number near the loss
print(f"bfloat16 numbers near {loss_bf16.item():.6f} are {spacing} apart")
# Seven losses around one bfloat16 number, all less than half a spacing from it.
falling = loss_bf16.float() + torch.tensor([0.006, 0.004, 0.002, 0.0, -0.002, -0.004, -0.006])
print("a float32 loss falling by 0.002 per step:", [f"{v:.4f}" for v in falling.tolist()])
print("the same losses in bfloat16:", [f"{v:.4f}" for v in falling.bfloat16().tolist()])
distinct_in_bf16 = falling.bfloat16().unique().numel()

outside_loss.backward()
grad_dtype = model[0].weight.grad.dtype
print("gradients reach the float32 parameters as", grad_dtype)

assert library_loss.dtype == outside_loss.dtype == torch.float32  # witness: float32-loss
# Equal bit for bit: inside autocast, cross_entropy computes from the logits cast to float32
# (its log-softmax too), exactly as the loss outside does.
assert torch.equal(library_loss, outside_loss)  # witness: cross-entropy-casts-up
assert hand_loss.dtype == torch.bfloat16  # witness: hand-loss-bfloat16
assert hand_error > 100 * outside_error  # witness: hand-loss-less-accurate
rounded_once_always = rounded_once == len(prefixes) and twice_differs > 0
rounding_is_most = before_rounding_error < hand_error / 2  # most of the error: the last rounding
is_rounded_mean = hand_loss.item() == rounded_float32_mean and rounded_once_always
assert is_rounded_mean and rounding_is_most  # witness: hand-loss-is-rounded-mean
assert hand_error <= half_spacing + before_rounding_error + 1e-6  # rounding to nearest
assert abs(element_errors.mean().item()) < mean_element_error / 4  # witness: errors-cancel-in-mean
assert spacing == 2**-6 and distinct_in_bf16 == 1  # witness: coarse-scalar
assert grad_dtype == torch.float32

if device.type == "cuda":
    # CUDA's autocast refuses binary_cross_entropy, on probabilities, as unsafe in float16;
    # the form that takes logits is on its float32 list.
    scores, labels = torch.randn(8).to(device), torch.rand(8).to(device)
    with torch.autocast("cuda"):
        try:
            F.binary_cross_entropy(scores.sigmoid(), labels)
            bce_error = "no error"
        except RuntimeError as error:
            bce_error = str(error)
        # float16 inputs: only the float32 list turns them into a float32 loss
        with_logits = F.binary_cross_entropy_with_logits(scores.half(), labels.half()).dtype
    print("binary_cross_entropy under CUDA autocast:", bce_error.splitlines()[0])
    print("binary_cross_entropy_with_logits under CUDA autocast:", with_logits)
    refused = "unsafe to autocast" in bce_error
    assert refused and with_logits == torch.float32  # witness: cuda-refuses-bce

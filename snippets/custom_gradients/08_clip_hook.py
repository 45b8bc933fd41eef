"""Clip a weight's gradient with a tensor hook: it clips the summed gradient of each backward."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
limit = 0.5

torch.manual_seed(0)
shared = nn.Linear(4, 4).to(device)
x = torch.randn(8, 4).to(device)

# Reference: the gradient of each use, from two separate copies of the layer.
copy_a, copy_b = nn.Linear(4, 4).to(device), nn.Linear(4, 4).to(device)
copy_a.load_state_dict(shared.state_dict())
copy_b.load_state_dict(shared.state_dict())
copy_b(copy_a(x)).sum().backward()
grad_a, grad_b = copy_a.weight.grad, copy_b.weight.grad

handle = shared.weight.register_hook(lambda grad: grad.clamp(-limit, limit))  # replaces the grad
shared(shared(x)).sum().backward()
after_one = shared.weight.grad.clone()

clip_of_sum = (grad_a + grad_b).clamp(-limit, limit)
sum_of_clips = grad_a.clamp(-limit, limit) + grad_b.clamp(-limit, limit)
print("largest |grad| of each use:", round(grad_a.abs().max().item(), 3), "and", end=" ")
print(round(grad_b.abs().max().item(), 3))
print(".grad is clip(sum):", torch.allclose(after_one, clip_of_sum), end="; ")
print("clip(a) + clip(b) would differ:", not torch.allclose(clip_of_sum, sum_of_clips))

# Without zero_grad, a second backward adds another clipped gradient to .grad.
shared(shared(x)).sum().backward()
largest_after_two = shared.weight.grad.abs().max().item()
print(f"largest |.grad| after two backward passes: {largest_after_two:.2f} (limit {limit})")
handle.remove()

assert torch.allclose(after_one, clip_of_sum)  # witness: clips-the-sum
assert not torch.allclose(clip_of_sum, sum_of_clips)  # witness: clip-of-sum-differs
assert after_one.abs().max() <= limit
assert torch.allclose(shared.weight.grad, 2 * after_one)  # witness: hook-before-accumulation
assert largest_after_two > limit

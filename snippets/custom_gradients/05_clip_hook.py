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
after_two = shared.weight.grad.clone()
largest_after_two = after_two.abs().max().item()
print(f"largest |.grad| after two backward passes: {largest_after_two:.2f} (limit {limit})")
handle.remove()

# A post-accumulate hook receives the parameter once .grad holds the new sum, and clips .grad.
seen_in_hook = []


def clip_accumulated(param: torch.Tensor) -> None:
    seen_in_hook.append(param.grad.clone())
    param.grad.clamp_(-limit, limit)  # in place, and return nothing


post_handle = shared.weight.register_post_accumulate_grad_hook(clip_accumulated)
shared(shared(x)).sum().backward()
post_handle.remove()
largest_after_post = shared.weight.grad.abs().max().item()
print(f"with a post-accumulate hook, largest |.grad| after a third pass: {largest_after_post:.2f}")

# Returning the clipped tensor, as the register_hook lambda above does, is refused here.
w = torch.ones(3, device=device, requires_grad=True)
w.register_post_accumulate_grad_hook(lambda p: p.grad.clamp(-limit, limit))
try:
    (4 * w).sum().backward()
    post_return_message = ""
except RuntimeError as error:
    post_return_message = str(error)
    print("a post-accumulate hook that returns a tensor:", post_return_message)

assert torch.allclose(after_one, clip_of_sum)  # witness: clips-the-sum
assert not torch.allclose(clip_of_sum, sum_of_clips)  # witness: clip-of-sum-differs
assert after_one.abs().max() <= limit
assert torch.allclose(after_two, 2 * after_one)  # witness: hook-before-accumulation
assert largest_after_two > limit
saw_sum = torch.allclose(seen_in_hook[0], after_two + grad_a + grad_b)  # after accumulation
clipped_sum = torch.equal(shared.weight.grad, seen_in_hook[0].clamp(-limit, limit))
assert len(seen_in_hook) == 1 and saw_sum and clipped_sum  # witness: post-accumulate-clips-grad
clipped_each_pass = torch.allclose(after_two, 2 * after_one)  # both passes, before removal
removed_sees_none = saw_sum and not torch.allclose(grad_a + grad_b, clip_of_sum)  # third: unclipped
assert clipped_each_pass and removed_sees_none  # witness: hook-until-removed
assert "should return None" in post_return_message  # witness: post-accumulate-returns-none

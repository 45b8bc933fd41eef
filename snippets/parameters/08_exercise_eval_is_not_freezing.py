"""Exercise: does model.eval() freeze the parameters?"""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)).to(device)
model.eval()  # sets every module's training flag to False, and nothing else
X = torch.randn(2, 4).to(device)
model(X).sum().backward()

still_requires_grad = all(p.requires_grad for p in model.parameters())
only_flags_changed = not any(module.training for module in model.modules())
grads_computed = sum(p.grad is not None for p in model.parameters())
print("after eval(): requires_grad everywhere:", still_requires_grad)
print("parameters that received a gradient:", grads_computed, "of", len(list(model.parameters())))

# What does stop gradients: requires_grad_(False) on the parameters,
# or torch.no_grad() around the forward pass.
model.zero_grad()
with torch.no_grad():
    output = model(X)
no_grad_output_tracked = output.requires_grad
print("output computed under torch.no_grad() requires grad:", no_grad_output_tracked)
# torch.no_grad() leaves the mode alone: in training mode, Dropout still drops at random.
batch = torch.randn(64, 4).to(device)  # many rows: two random dropout masks will differ
model.train()
with torch.no_grad():
    no_grad_alone_repeatable = torch.equal(model(batch), model(batch))
model.eval()
with torch.no_grad():
    no_grad_with_eval_repeatable = torch.equal(model(batch), model(batch))
print(
    "same features twice under no_grad():",
    no_grad_alone_repeatable,
    "in training mode,",
    no_grad_with_eval_repeatable,
    "after eval()",
)
model[0].requires_grad_(False)
model(X).sum().backward()
chosen_skipped = model[0].weight.grad is None and model[3].weight.grad is not None
print("after model[0].requires_grad_(False): only model[0] gets no gradient:", chosen_skipped)

assert only_flags_changed and still_requires_grad  # witness: eval-sets-flags-only
assert grads_computed == 4  # witness: eval-still-grads
assert not no_grad_output_tracked  # witness: no-grad-stops-recording
assert not no_grad_alone_repeatable and no_grad_with_eval_repeatable  # witness: no-grad-needs-eval
assert chosen_skipped  # witness: requires-grad-false-stops

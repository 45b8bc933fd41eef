"""no_grad and inference_mode record no graph; inference tensors cannot be saved for backward."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
backbone = nn.Linear(4, 3).to(device)  # computes features; not trained here
head = nn.Linear(3, 1).to(device)  # the part we train
x = torch.randn(8, 4).to(device)

with torch.no_grad():
    features_no_grad = backbone(x)
with torch.inference_mode():
    features_inference = backbone(x)

for name, t in (("no_grad", features_no_grad), ("inference_mode", features_inference)):
    flags = f"requires_grad={t.requires_grad}, grad_fn={t.grad_fn}"
    print(f"{name:15} {flags}, is_inference={t.is_inference()}")
backbone_still_trainable = backbone.weight.requires_grad  # the contexts leave parameters alone
same_values = torch.allclose(features_no_grad, features_inference)

# Features from no_grad are ordinary tensors: a head can be trained on them.
head(features_no_grad).sum().backward()
head_grad_from_no_grad = head.weight.grad is not None

# Inference tensors cannot be saved for backward, and Linear must save its input.
try:
    head(features_inference).sum().backward()
except RuntimeError as error:
    message = f"{type(error).__name__}: {error}"
print(message)

# clone() outside inference mode makes an ordinary tensor from an inference tensor.
head.zero_grad()
head(features_inference.clone()).sum().backward()
clone_works = head.weight.grad is not None and not features_inference.clone().is_inference()
print("after clone():", clone_works)

assert not features_no_grad.requires_grad and not features_no_grad.is_inference()
assert not features_inference.requires_grad and features_inference.is_inference()
assert backbone_still_trainable and same_values and head_grad_from_no_grad
assert message.startswith("RuntimeError: Inference tensors cannot be saved for backward")
assert clone_works

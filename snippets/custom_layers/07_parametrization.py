"""Parametrizations: a layer whose weight is always symmetric, whatever the optimizer does to it."""

from unittest import mock

import torch
import torch.nn.utils.parametrize as parametrize
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Symmetric(nn.Module):
    """Build a symmetric matrix from the upper triangle of any square matrix."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X.triu() + X.triu(1).transpose(-1, -2)


torch.manual_seed(0)
layer = nn.Linear(3, 3).to(device)
keys_before = ", ".join(layer.state_dict())
parametrize.register_parametrization(layer, "weight", Symmetric())
keys_after = ", ".join(layer.state_dict())
class_name = type(layer).__name__
class_subclasses_linear = isinstance(layer, nn.Linear) and type(layer) is not nn.Linear
print(f"state_dict keys before: {keys_before}")
print(f"state_dict keys after:  {keys_after}  (the class is now {class_name})")

# layer.weight is computed from the stored tensor on every access, so it is always symmetric...
is_symmetric = torch.equal(layer.weight, layer.weight.T)
calls = []  # a forward hook on the Symmetric module counts how often it runs
counter = layer.parametrizations.weight[0].register_forward_hook(lambda *_: calls.append(1))
layer.weight, layer.weight
computed_each_access = len(calls) == 2  # two accesses, two runs of Symmetric
with parametrize.cached():  # inside cached(), the first access is computed and then reused
    cached_once = layer.weight is layer.weight and len(calls) == 3
counter.remove()
# ...and training updates the stored tensor, `original`, through the parametrization.
original = layer.parametrizations.weight.original
optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
optimizer_holds_original = any(p is original for p in optimizer.param_groups[0]["params"])
original_before = original.detach().clone()
layer(torch.randn(8, 3).to(device)).pow(2).sum().backward()
optimizer.step()
original_updated = not torch.equal(original, original_before)
lower_triangle_grad = original.grad.tril(-1).abs().sum().item()
still_symmetric = torch.equal(layer.weight, layer.weight.T)
print(f"weight symmetric: {is_symmetric}; after an SGD step: {still_symmetric}")
print(f"gradient reaching the unused lower triangle of original: {lower_triangle_grad}")

# The checkpoint holds the stored tensor, whose lower triangle is not symmetric to the upper.
stored = layer.state_dict()["parametrizations.weight.original"]
checkpoint_holds_original = torch.equal(stored, original) and not torch.equal(stored, stored.T)

# The key change matters: a checkpoint of the plain layer no longer loads as is.
plain_checkpoint = nn.Linear(3, 3).state_dict()
try:
    layer.load_state_dict(plain_checkpoint)
except RuntimeError as error:
    load_message = str(error)
    print(f"{type(error).__name__}: {load_message}")

# strict=False hides the mismatch: the bias loads, and the weight silently keeps its random values.
loose = nn.Linear(3, 3).to(device)
parametrize.register_parametrization(loose, "weight", Symmetric())
random_weight = loose.weight.detach().clone()
report = loose.load_state_dict(plain_checkpoint, strict=False)
print(f"with strict=False: {report}")
keys_reported = report.missing_keys == ["parametrizations.weight.original"] and (
    report.unexpected_keys == ["weight"]
)
weight_left_random = torch.equal(loose.weight, random_weight)
bias_loaded = torch.equal(loose.bias, plain_checkpoint["bias"].to(device))
# Loading the plain checkpoint before registering: its weight becomes the stored tensor, and the
# layer computes with Symmetric() of it, not with the checkpoint's (unsymmetric) weight.
ordered = nn.Linear(3, 3).to(device)
ordered.load_state_dict(plain_checkpoint)
parametrize.register_parametrization(ordered, "weight", Symmetric())
checkpoint_weight = plain_checkpoint["weight"].to(device)
checkpoint_stored = torch.equal(ordered.parametrizations.weight.original, checkpoint_weight)
weight_is_constrained = torch.equal(ordered.weight, Symmetric()(checkpoint_weight)) and not (
    torch.equal(ordered.weight, checkpoint_weight)
)

# Without a right_inverse, the weight cannot be assigned to.
try:
    layer.weight = torch.eye(3, device=device)
except RuntimeError as error:
    assign_message = str(error)
    print(f"{type(error).__name__}: {assign_message}")

# Library parametrizations: orthogonal() holds its constraint up to rounding, and weight_norm(),
# whose right_inverse returns two tensors, stores them as original0 and original1.
# orthogonal() runs QR (geqrf), which has no MPS kernel: there it stays on the CPU.
rotation_device = torch.device("cpu") if device.type == "mps" else device
rotation = nn.utils.parametrizations.orthogonal(nn.Linear(3, 3).to(rotation_device))
gram = rotation.weight @ rotation.weight.T
orthogonal_up_to_rounding = torch.allclose(gram, torch.eye(3, device=rotation_device), atol=1e-5)
# A weight with more outputs than inputs cannot have orthonormal rows: its columns are. With
# fewer outputs than inputs, the rows are orthonormal, as for a square one.
rotation_keys = list(rotation.state_dict())
tall = nn.utils.parametrizations.orthogonal(nn.Linear(3, 5).to(rotation_device)).weight
tall_columns = torch.allclose(tall.T @ tall, torch.eye(3, device=rotation_device), atol=1e-5)
tall_rows = torch.allclose(tall @ tall.T, torch.eye(5, device=rotation_device), atol=1e-5)
wide = nn.utils.parametrizations.orthogonal(nn.Linear(5, 3).to(rotation_device)).weight
wide_rows = torch.allclose(wide @ wide.T, torch.eye(3, device=rotation_device), atol=1e-5)
print(f"a 5 x 3 weight: W^T W close to I: {tall_columns}; W W^T close to I: {tall_rows}")
print(f"a 3 x 5 weight: W W^T close to I: {wide_rows}")
# The QR factorization orthogonal() uses has no bfloat16 kernel: keep such a layer in float32 or 64.
with mock.patch.object(torch, "geqrf", wraps=torch.geqrf) as geqrf_calls:
    nn.utils.parametrizations.orthogonal(nn.Linear(3, 3))
orthogonal_uses_geqrf = geqrf_calls.called
try:
    torch.geqrf(torch.eye(3, dtype=torch.bfloat16))
    geqrf_bfloat16 = "no error"
except NotImplementedError as error:
    geqrf_bfloat16 = str(error)
print("torch.geqrf in bfloat16:", geqrf_bfloat16)
normed = nn.utils.parametrizations.weight_norm(nn.Linear(3, 3).to(device))
weight_norm_keys = ", ".join(key for key in normed.state_dict() if ".weight." in key)
g, v = normed.parametrizations.weight.original0, normed.parametrizations.weight.original1
with torch.no_grad():
    g.mul_(2)  # a new magnitude; the weight is still g * v / ||v||, row by row
norm_formula = torch.allclose(normed.weight, g * v / v.norm(dim=1, keepdim=True))
print(f"orthogonal: W W^T close to I: {orthogonal_up_to_rounding}; weight_norm: {weight_norm_keys}")

# Baking it in: keep the current symmetric values as a plain parameter again.
parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
keys_removed = ", ".join(layer.state_dict())
baked_symmetric = torch.equal(layer.weight, layer.weight.T)
print(
    f"after remove_parametrizations: {keys_removed} ({type(layer).__name__}), "
    f"symmetric: {baked_symmetric}"
)

assert keys_before == "weight, bias" and keys_after == "bias, parametrizations.weight.original"
assert class_name == "ParametrizedLinear"
assert class_subclasses_linear  # witness: subclass-on-the-fly
assert computed_each_access  # witness: computed-each-access
assert cached_once  # witness: cached-reuses
assert optimizer_holds_original and original_updated  # witness: optimizer-updates-original
assert is_symmetric and still_symmetric  # witness: stays-symmetric
assert lower_triangle_grad == 0  # witness: lower-triangle-no-grad
assert checkpoint_holds_original  # witness: checkpoint-holds-original
assert "Missing key(s)" in load_message and "parametrizations.weight.original" in load_message
assert keys_reported and weight_left_random and bias_loaded  # witness: strict-false-silent
assert checkpoint_stored  # witness: load-before-register
assert weight_is_constrained  # witness: loaded-weight-constrained
rows_or_columns = orthogonal_up_to_rounding and wide_rows and tall_columns and not tall_rows
assert rows_or_columns  # witness: orthogonal-up-to-rounding
no_bfloat16_kernel = geqrf_bfloat16.startswith("\"geqrf_cpu\" not implemented for 'BFloat16'")
assert orthogonal_uses_geqrf and no_bfloat16_kernel  # witness: geqrf-no-bfloat16
assert weight_norm_keys == (  # witness: several-originals
    "parametrizations.weight.original0, parametrizations.weight.original1"
)
assert norm_formula  # witness: weight-norm-formula
assert rotation_keys[-1] == "parametrizations.weight.0.base"  # witness: orthogonal-saves-base
assert "does not implement right_inverse" in assign_message  # witness: no-right-inverse
assert keys_removed == "bias, weight"
assert type(layer) is nn.Linear and baked_symmetric  # witness: baked

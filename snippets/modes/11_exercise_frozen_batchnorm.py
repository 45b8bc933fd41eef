"""Exercise: fine-tune a model while its BatchNorm layers keep their running statistics frozen."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

# The base class of every BatchNorm: a list of BatchNorm1d, 2d, 3d would miss SyncBatchNorm,
# and LazyBatchNorm1d, which becomes a BatchNorm1d only at its first forward.
BATCH_NORM = nn.modules.batchnorm._BatchNorm


class FrozenBatchNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
        self.train_calls: list[bool] = []  # the mode of every call of the override

    def train(self, mode: bool = True) -> "FrozenBatchNormNet":
        self.train_calls.append(mode)
        super().train(mode)  # sets every submodule, BatchNorm included ...
        for module in self.modules():
            if isinstance(module, BATCH_NORM):
                module.eval()  # ... then puts BatchNorm back: running statistics stay fixed
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """The validation loop's helper: eval() inside, then every submodule's own flag back."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode  # assigned: no call of train()


torch.manual_seed(0)
model = FrozenBatchNormNet().to(device)
bn = model.layers[1]
with torch.no_grad():  # pretend these statistics came from pre-training
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
before = bn.running_mean.clone()
before_var = bn.running_var.clone()
bn_weight_before = bn.weight.detach().clone()
bn_bias_before = bn.bias.detach().clone()

model.eval()  # Module.eval() calls train(False), so it goes through the override too
model.train()
still_frozen_after_eval_train = not bn.training
override_calls = list(model.train_calls)
print("the override was called with:", override_calls)
lazy = nn.LazyBatchNorm1d()  # caught by the base class, though not (yet) a BatchNorm1d
lazy_caught = isinstance(lazy, BATCH_NORM) and not isinstance(lazy, nn.BatchNorm1d)
sync_caught = issubclass(nn.SyncBatchNorm, BATCH_NORM)

model.train()  # model.train() must not unfreeze it
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    x, y = torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# Validation with evaluating(): its eval() goes through the override, its restore does not.
calls_before = len(model.train_calls)
with evaluating(model), torch.inference_mode():
    model(torch.randn(4, 4).to(device))
calls_in_validation = model.train_calls[calls_before:]
print("train() calls in validation:", calls_in_validation, end="")
print(" | afterwards model training:", model.training, "| BatchNorm training:", bn.training)

frozen = (
    torch.equal(bn.running_mean, before)
    and torch.equal(bn.running_var, before_var)
    and bn.num_batches_tracked.item() == 0
)
affine_learns = all(  # the affine weight and bias still train
    p.grad is not None and not torch.equal(p.detach(), before_p)
    for p, before_p in ((bn.weight, bn_weight_before), (bn.bias, bn_bias_before))
)
print("model training:", model.training, "| BatchNorm training:", bn.training)
print(
    "running statistics unchanged:",
    frozen,
    "| BatchNorm weight and bias still get gradients:",
    affine_learns,
)

# The override runs only when train() is called on the model (or on a module above it): train()
# called directly on a submodule sets the modes below it without going through the override.
other = FrozenBatchNormNet()
other.apply(lambda module: module.train())  # children first, the model last: frozen again
frozen_after_apply = not other.layers[1].training
other.layers.train()  # the inner Sequential's own train(): BatchNorm is switched back on
unfrozen_by_submodule = other.layers[1].training
print("BatchNorm training: after apply(train)", not frozen_after_apply, end="")
print(" | after model.layers.train()", unfrozen_by_submodule)

assert (
    override_calls == [False, True]  # eval() and train() both went through the override
    and model.training
    and not bn.training
    and still_frozen_after_eval_train
)  # witness: override
assert lazy_caught and sync_caught  # witness: base-class
evaluating_keeps_frozen = calls_in_validation == [False] and model.training and not bn.training
assert evaluating_keeps_frozen  # witness: evaluating-restores-own-flags
assert frozen  # witness: statistics-frozen
assert frozen_after_apply and unfrozen_by_submodule  # witness: submodule-train-skips-override
assert affine_learns  # witness: affine-still-trains

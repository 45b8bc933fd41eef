"""Exercise: fine-tune a model while its BatchNorm layers keep their running statistics frozen."""

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class FrozenBatchNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))

    def train(self, mode: bool = True) -> "FrozenBatchNormNet":
        super().train(mode)  # sets every submodule, BatchNorm included ...
        for module in self.modules():
            if isinstance(module, BATCH_NORMS):
                module.eval()  # ... then puts BatchNorm back: running statistics stay fixed
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


torch.manual_seed(0)
model = FrozenBatchNormNet().to(device)
bn = model.layers[1]
with torch.no_grad():  # pretend these statistics came from pre-training
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
before = bn.running_mean.clone()
before_var = bn.running_var.clone()
bn_weight_before = bn.weight.detach().clone()

model.eval()  # Module.eval() calls train(False), so it goes through the override too
model.train()
still_frozen_after_eval_train = not bn.training

model.train()  # model.train() must not unfreeze it
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    x, y = torch.randn(16, 4).to(device), torch.randn(16, 1).to(device)
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

frozen = (
    torch.equal(bn.running_mean, before)
    and torch.equal(bn.running_var, before_var)
    and bn.num_batches_tracked.item() == 0
)
bn_weight_learns = bn.weight.grad is not None  # the affine weight and bias still train
bn_weight_learns = bn_weight_learns and not torch.equal(bn.weight.detach(), bn_weight_before)
print("model training:", model.training, "| BatchNorm training:", bn.training)
print(
    "running statistics unchanged:",
    frozen,
    "| BatchNorm weight still gets gradients:",
    bn_weight_learns,
)

assert model.training and not bn.training and still_frozen_after_eval_train  # witness: override
assert frozen  # witness: statistics-frozen
assert bn_weight_learns  # witness: affine-still-trains

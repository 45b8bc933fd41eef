"""Exercise: Monte Carlo dropout: evaluation mode except for dropout, many passes averaged."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

DROPOUTS = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


def enable_dropout_only(model: nn.Module) -> nn.Module:
    """Evaluation mode everywhere (BatchNorm uses its running statistics), then dropout back on."""
    model.eval()
    for module in model.modules():
        if isinstance(module, DROPOUTS):
            module.train()
    return model


torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(4, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 1)
)
model.to(device)
x = torch.randn(5, 4).to(device)

enable_dropout_only(model)
with torch.inference_mode():
    samples = torch.stack([model(x) for _ in range(100)])  # (100 passes, 5 examples, 1)
mean, spread = samples.mean(dim=0), samples.std(dim=0)
samples_shape = tuple(samples.shape)
print("samples:", samples_shape)
print("mean prediction:", [round(v, 3) for v in mean.flatten().tolist()])
print("spread (std):   ", [round(v, 3) for v in spread.flatten().tolist()])
bn_frozen = model[1].num_batches_tracked.item() == 0

# The reverse order does not work: the recursive eval() switches dropout off again.
reversed_order = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.3))
reversed_order[1].train()
reversed_order.eval()
print("dropout active after train() then eval():", reversed_order[1].training)

assert samples_shape == (100, 5, 1)
assert bool((spread > 0).all())
assert bn_frozen  # witness: batchnorm-saw-nothing
assert not model[1].training and model[3].training
assert not reversed_order[1].training  # witness: reverse-order-undone

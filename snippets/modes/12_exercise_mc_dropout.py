"""Exercise: Monte Carlo dropout: evaluation mode except for dropout, many passes averaged."""

import contextlib
import inspect
import re

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

# Dropout built into another layer reads that layer's own flag, which eval() switched off.
torch.manual_seed(0)
lstm = nn.LSTM(8, 8, num_layers=2, dropout=0.5).to(device)  # dropout between its two layers
attention = nn.MultiheadAttention(8, 2, dropout=0.5).to(device)  # dropout on attention weights
sequence = torch.randn(3, 2, 8).to(device)  # (length, batch, features)
passes = {
    "LSTM(dropout=0.5)": (lstm, lambda: lstm(sequence)[0]),
    "MultiheadAttention(dropout=0.5)": (attention, lambda: attention(*[sequence] * 3)[0]),
}
built_in_stays_off = []
for name, (layer, run) in passes.items():
    enable_dropout_only(layer)
    with torch.no_grad():
        off = not layer.training and torch.equal(run(), run())
        layer.train()  # the layer's own flag is what turns its dropout on
        on = not torch.equal(run(), run())
    built_in_stays_off.append(off and on)
    print(f"{name}: same output twice after enable_dropout_only {off}, after train() {not on}")

# TransformerEncoderLayer's fast path, taken in evaluation mode with autograd off or neither the
# input nor a parameter requiring grad (and batch_first=True, among other conditions), applies no
# dropout, even with its Dropout submodules in training mode. torch/nn/modules/transformer.py
# allows it on these devices:
privateuse1 = torch.utils.backend_registration._privateuse1_backend_name  # a custom backend
fast_path_devices = ("cpu", "cuda", "xpu", privateuse1)  # not MPS
fast_path_device = device.type in fast_path_devices
source = inspect.getsource(nn.TransformerEncoderLayer.forward)  # the list, as torch writes it
listed = re.search(r"_supported_device_type = \[(.*?)\]", source, re.DOTALL)[1]
devices_in_source = [entry.strip() for entry in listed.split(",") if entry.strip()]
torch.manual_seed(0)
encoder_layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True).to(device)
enable_dropout_only(encoder_layer)
tokens = torch.randn(2, 3, 8).to(device)  # (batch, length, features)
same_twice = {}
for name, context in (
    ("inference_mode", torch.inference_mode),
    ("no_grad", torch.no_grad),
    ("grad enabled", contextlib.nullcontext),
):
    with context():
        same_twice[name] = torch.equal(encoder_layer(tokens), encoder_layer(tokens))
fast_path_was = torch.backends.mha.get_fastpath_enabled()
torch.backends.mha.set_fastpath_enabled(False)  # control: no fast path, so dropout applies
try:
    with torch.no_grad():
        same_twice["no_grad, fast path off"] = torch.equal(
            encoder_layer(tokens), encoder_layer(tokens)
        )
finally:
    torch.backends.mha.set_fastpath_enabled(fast_path_was)
encoder_layer.requires_grad_(False)
same_twice["grad enabled, frozen"] = torch.equal(encoder_layer(tokens), encoder_layer(tokens))
tracked_tokens = tokens.clone().requires_grad_(True)  # the input counts too
same_twice["grad enabled, frozen, input requires grad"] = torch.equal(
    encoder_layer(tracked_tokens), encoder_layer(tracked_tokens)
)
bias = torch.zeros(3, 3, device=device, requires_grad=True)  # zeros: both paths read them alike
same_twice["grad enabled, frozen, float mask requires grad"] = torch.equal(  # ... is not checked
    encoder_layer(tokens, src_mask=bias), encoder_layer(tokens, src_mask=bias)
)
torch.manual_seed(0)
seq_first = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=False).to(device)
enable_dropout_only(seq_first)
with torch.no_grad():  # the same tokens, sequence first
    same_twice["no_grad, batch_first=False"] = torch.equal(
        seq_first(tokens.transpose(0, 1)), seq_first(tokens.transpose(0, 1))
    )
print("TransformerEncoderLayer after enable_dropout_only, same output twice:")
for name, same in same_twice.items():
    print(f"  {name}: {same}")

assert samples_shape == (100, 5, 1)
assert bool((spread > 0).all())
assert bn_frozen  # witness: batchnorm-saw-nothing
assert not model[1].training and model[3].training
assert not reversed_order[1].training  # witness: reverse-order-undone
assert all(built_in_stays_off)  # witness: built-in-dropout-stays-off
# Where the fast path is taken, two passes are the same; on MPS there is none: dropout applies.
autograd_off = [same_twice["inference_mode"], same_twice["no_grad"]]
assert autograd_off == [fast_path_device] * 2  # witness: fast-path-skips-dropout
assert not same_twice["no_grad, fast path off"]  # witness: fast-path-off-drops
grad_on = {name: same for name, same in same_twice.items() if name.startswith("grad enabled")}
assert autograd_off == [fast_path_device] * 2 and grad_on == {  # witness: fast-path-grad
    "grad enabled": False,
    "grad enabled, frozen": fast_path_device,
    "grad enabled, frozen, input requires grad": False,
    "grad enabled, frozen, float mask requires grad": fast_path_device,
}
assert not same_twice["no_grad, batch_first=False"]  # witness: fast-path-needs-batch-first
names = ['"cpu"', '"cuda"', '"xpu"', "torch.utils.backend_registration._privateuse1_backend_name"]
assert devices_in_source == names  # witness: fast-path-devices

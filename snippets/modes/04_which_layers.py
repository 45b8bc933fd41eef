"""Which layers behave differently in training and evaluation mode? Run each both ways, compare."""

import copy
import inspect

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
layers = {
    "Linear": (nn.Linear(4, 4), (8, 4)),
    "LayerNorm": (nn.LayerNorm(4), (8, 4)),
    "Dropout": (nn.Dropout(0.5), (8, 16)),
    "BatchNorm1d": (nn.BatchNorm1d(4), (8, 4)),
    "InstanceNorm1d": (nn.InstanceNorm1d(4), (8, 4, 5)),
    "InstanceNorm1d(track_running_stats=True)": (
        nn.InstanceNorm1d(4, track_running_stats=True),
        (8, 4, 5),
    ),
    "TransformerEncoderLayer": (
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, batch_first=True),
        (8, 3, 4),
    ),
}

differs, identical = {}, {}
for name, (layer, shape) in layers.items():
    x = torch.randn(shape).to(device)
    # Copies, since a training pass may update running statistics. Both passes run with autograd
    # on, so that only the flag differs: some layers also read the grad mode.
    in_training = copy.deepcopy(layer).to(device).train()(x)
    in_eval = copy.deepcopy(layer).to(device).eval()(x)
    differs[name] = not torch.allclose(in_training, in_eval, atol=1e-5)
    identical[name] = torch.equal(in_training, in_eval)  # bit for bit
    print(f"{name:41} {'differs' if differs[name] else 'same'}")

mode_dependent = ", ".join(name for name, changed in differs.items() if changed)
layer_norm_buffers = len(list(layers["LayerNorm"][0].buffers()))
layer_norm_parameters = [name for name, _ in layers["LayerNorm"][0].named_parameters()]
running_option = {  # can the layer be built with track_running_stats?
    cls.__name__: "track_running_stats" in inspect.signature(cls).parameters
    for cls in (nn.LayerNorm, nn.InstanceNorm1d)
}
encoder_modules = layers["TransformerEncoderLayer"][0].modules()
encoder_has_dropout = any(isinstance(module, nn.Dropout) for module in encoder_modules)
print(
    "buffers of LayerNorm:", layer_norm_buffers, "| encoder layer has Dropout:", encoder_has_dropout
)
print("has a track_running_stats option:", running_option)

assert mode_dependent == (  # witness: mode-dependent
    "Dropout, BatchNorm1d, InstanceNorm1d(track_running_stats=True), TransformerEncoderLayer"
)
linear_reads_flag = "training" in inspect.getsource(nn.Linear.forward)
assert identical["Linear"] and not linear_reads_flag  # witness: linear-same
assert (
    identical["LayerNorm"]
    and layer_norm_buffers == 0
    and layer_norm_parameters == ["weight", "bias"]
)  # witness: layernorm-stores-nothing
no_option = running_option == {"LayerNorm": False, "InstanceNorm1d": True}
assert no_option  # witness: layernorm-no-option
assert identical["InstanceNorm1d"]  # witness: instancenorm-default-same
assert encoder_has_dropout  # witness: encoder-has-dropout

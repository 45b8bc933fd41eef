"""A small network end to end: custom layer, model class, initialization, saving and restoring."""

import io
import math
import tempfile
from pathlib import Path

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:layer]
class CenteredLayer(nn.Module):
    """Subtracts each row's mean over its features (the last dimension). It has no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


# --8<-- [end:layer]
# --8<-- [start:model]
class SmallNet(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, d_out),
            CenteredLayer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        # He (Kaiming) initialization, with the gain for ReLU
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:  # a Linear built with bias=False has none
            nn.init.zeros_(module.bias)


# --8<-- [end:model]
# --8<-- [start:use]
torch.manual_seed(0)
model = SmallNet(10, 8, 3)
model.apply(init_weights)
model.to(device)

X = torch.randn(4, 10).to(device)  # drawn on the CPU, so every device sees the same batch
Y = model(X)  # in training mode, the default
output_shape = tuple(Y.shape)
parameter_count = sum(p.numel() for p in model.parameters())
print("output shape:", output_shape, " parameters:", parameter_count)
print("every row of the output averages to zero:", Y.mean(dim=-1).abs().max().item() < 1e-6)

with tempfile.TemporaryDirectory() as folder:
    checkpoint = Path(folder) / "small_net.pt"
    saved_from = {str(t.device) for t in model.state_dict().values()}  # on a GPU: {"cuda:0"}
    torch.save(model.state_dict(), checkpoint)
    restored = SmallNet(10, 8, 3)
    loaded = torch.load(checkpoint, map_location="cpu")
    restored.load_state_dict(loaded)
restored.to(device)
both_training = model.training and restored.training  # the default for a new module
with torch.no_grad():
    agree_in_training_mode = torch.equal(model(X), restored(X))  # no dropout: deterministic
restored.eval()
model.eval()

with torch.no_grad():
    same_outputs = torch.equal(model(X), restored(X))
    eval_changes_nothing = torch.equal(model(X), Y)  # no layer here reads the mode (see below)
state_keys = list(restored.state_dict())
state_key_count, state_key_names = len(state_keys), ", ".join(state_keys)
print("state_dict keys:", state_key_names)
loaded_to = {t.device.type for t in loaded.values()}
print("saved from:", saved_from, " loaded onto:", loaded_to)
print("restored model gives the same outputs:", same_outputs)
# --8<-- [end:use]

# The rest checks what the page says.

# model.apply visits every submodule, children first, and the model itself last.
visited = []
SmallNet(10, 8, 3).apply(visited.append)
visited_names = " ".join(type(m).__name__ for m in visited)
print("apply visits:", visited_names)

# The attribute self.layers is registered as the model's one child.
print("children:", [name for name, _ in model.named_children()])

# .to() reaches every parameter inside: a dtype move, or a move to the meta device (shapes
# without data), shows it on any machine.
as_double = SmallNet(10, 8, 3).to(torch.float64)
print("after .to(torch.float64):", {p.dtype for p in as_double.parameters()})
on_meta = SmallNet(10, 8, 3).to("meta")
print('after .to("meta"):', {p.device.type for p in on_meta.parameters()})

# The weights init_weights drew: redraw them with the same seed. SmallNet(10, 8, 3) draws its
# default initialization first; then apply reaches the two Linear layers in order, and each gets
# normal draws with standard deviation sqrt(2 / fan_in), fan_in being its number of inputs.
with torch.random.fork_rng(devices=[]):  # the CPU generator is restored afterwards
    torch.manual_seed(0)
    SmallNet(10, 8, 3)
    redrawn = [torch.empty(8, 10).normal_(0, math.sqrt(2 / 10))]
    redrawn.append(torch.empty(3, 8).normal_(0, math.sqrt(2 / 8)))
he_weights = all(
    torch.allclose(layer.weight.cpu(), expected, rtol=1e-6, atol=0)
    for layer, expected in zip((model.layers[0], model.layers[2]), redrawn)
)
print("weights are normal draws with std sqrt(2 / fan_in):", he_weights)


# Why eval() changes nothing here: no module of the model reads self.training. Remove that
# attribute from every module and run the model: a module that read it would raise an
# AttributeError, as a Dropout does even with p=0, where its output would not change.
def reads_training(net: nn.Module, x: torch.Tensor) -> bool:
    modes = {module: module.training for module in net.modules()}
    for module in modes:
        del module.training
    try:
        with torch.no_grad():
            net(x)
        return False
    except AttributeError:
        return True
    finally:
        for module, mode in modes.items():
            module.training = mode


model_reads_mode = reads_training(model, X)
dropout_reads_mode = reads_training(nn.Dropout(0.0), X)
print("reads self.training: SmallNet", model_reads_mode, " Dropout(0.0)", dropout_reads_mode)

# init_weights also handles a layer without a bias; without the check it would fail.
no_bias = nn.Linear(10, 8, bias=False)
weight_before = no_bias.weight.detach().clone()
no_bias.apply(init_weights)
no_bias_reinitialized = not torch.equal(no_bias.weight, weight_before)
print("init_weights on Linear(10, 8, bias=False) redraws the weight:", no_bias_reinitialized)
try:
    nn.init.zeros_(no_bias.bias)  # what init_weights would do without `is not None`
    unguarded_error = ""
except AttributeError as error:
    unguarded_error = str(error)
print("without the check:", unguarded_error)

assert output_shape == (4, 3) and parameter_count == 115
assert len(list(CenteredLayer().parameters())) == 0  # witness: no-parameters
assert torch.allclose(Y.mean(dim=-1), torch.zeros(4, device=device), atol=1e-6)  # witness: centered
expected_order = "Linear ReLU Linear CenteredLayer Sequential SmallNet"
assert visited_names == expected_order and isinstance(visited[-1], SmallNet)  # witness: apply-order
linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
zero_biases = [bool(torch.all(layer.bias == 0)) for layer in linears]
assert zero_biases == [True, True]  # witness: applied
assert he_weights  # witness: he-weights
assert dict(model.named_children()) == {"layers": model.layers}  # witness: registered
assert {p.dtype for p in as_double.parameters()} == {torch.float64}  # witness: reaches-inside
assert {p.device.type for p in on_meta.parameters()} == {"meta"}  # witness: reaches-inside-meta
assert state_key_count == 4
assert state_key_names == "layers.0.weight, layers.0.bias, layers.2.weight, layers.2.bias"
assert loaded_to == {"cpu"}  # on a CPU, true with or without map_location: the GPU run checks it
assert same_outputs and not restored.training and not model.training  # witness: restored-agrees
assert eval_changes_nothing  # witness: eval-no-change
assert not model_reads_mode and dropout_reads_mode  # witness: no-layer-reads-mode
assert both_training and agree_in_training_mode  # witness: agree-in-training
assert no_bias.bias is None and no_bias_reinitialized  # witness: no-bias-ok
assert "'NoneType' object has no attribute" in unguarded_error  # witness: unguarded-fails
if device.type == "cuda":  # what only a GPU shows: on a CPU every tensor is on the CPU anyway
    assert {p.device.type for p in model.parameters()} == {"cuda"}  # witness: on-device
    saved_on_gpu = {torch.device(d).type for d in saved_from} == {"cuda"}
    assert saved_on_gpu and loaded_to == {"cpu"}  # witness: loaded-on-cpu-from-gpu
    saved = io.BytesIO()
    torch.save(model.state_dict(), saved)
    as_saved = torch.load(io.BytesIO(saved.getvalue()))  # no map_location
    # A function that returns None as map_location only notes where the file says each storage was.
    recorded = []
    torch.load(io.BytesIO(saved.getvalue()), map_location=lambda s, at: recorded.append(at))
    back_where_saved = {str(t.device) for t in as_saved.values()} == saved_from  # {"cuda:0"}
    assert set(recorded) == saved_from and back_where_saved  # witness: loads-where-saved

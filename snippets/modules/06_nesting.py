"""Modules nest: a Sequential may hold custom modules, which may hold Sequentials, and so on."""

import warnings

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class Block(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_hidden), nn.ReLU()
        )
        self.project = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.net(x))


class MLP(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(d_in, d_hidden)
        self.output = nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(F.relu(self.hidden(x)))


torch.manual_seed(0)
model = nn.Sequential(Block(8, 32, 16), nn.ReLU(), MLP(16, 16, 4)).to(device)
X = torch.randn(2, 8).to(device)
output_shape = tuple(model(X).shape)
print(model)
print("output shape:", output_shape)

per_child = {
    name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()
}
parameter_count = sum(p.numel() for p in model.parameters())
print("parameters per child:", per_child, " total:", parameter_count)
deepest_name = next(name for name, _ in model.named_parameters())
print("a name records the path to its tensor:", deepest_name)
# A parameter that two children share is in both their counts, but once in the total.
tied = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
tied[1].weight = tied[0].weight  # the output layer reuses the embedding's (10, 4) weight
tied_per_child = [sum(p.numel() for p in child.parameters()) for child in tied.children()]
tied_total = sum(p.numel() for p in tied.parameters())
print("with a shared weight, per child:", tied_per_child, " total:", tied_total)
# A parameter registered on the outer model itself, such as a class token, is in no child's count.
tokened = nn.Module()
tokened.body, tokened.token = nn.Linear(4, 4), nn.Parameter(torch.zeros(4))
token_per_child = [sum(p.numel() for p in child.parameters()) for child in tokened.children()]
token_total = sum(p.numel() for p in tokened.parameters())
print("with a parameter of its own, per child:", token_per_child, " total:", token_total)
# parameters() yields the weight and bias of every Linear in the tree, each at its own depth.
linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
linear_tensors = [tensor for layer in linears for tensor in (layer.weight, layer.bias)]
walked = list(model.parameters())
walks_every_level = len(linears) == 5 and len(walked) == len(linear_tensors) == 10
walks_every_level &= all(a is b for a, b in zip(walked, linear_tensors))

# One call on the outer model reaches every level of the tree.
model.eval()
every_module_in_eval = not any(module.training for module in model.modules())
model.train()
every_module_in_train = all(module.training for module in model.modules())
model.to(torch.float16)  # a conversion only: nothing below computes in float16
every_parameter_half = all(p.dtype == torch.float16 for p in model.parameters())
normed = nn.Sequential(nn.Sequential(nn.BatchNorm1d(2)))  # buffers two levels down
state_keys = list(normed.state_dict())  # parameters, then buffers, two levels down
buffer_keys = [key for key in state_keys if "running" in key]
# A dtype converts floating-point and complex tensors: BatchNorm's integer counter keeps its dtype.
normed.to(torch.float16)
batchnorm = normed[0][0]
buffer_dtypes = (batchnorm.running_mean.dtype, batchnorm.num_batches_tracked.dtype)
# A complex buffer converts too. Given a real dtype, it keeps only its real part.
rotor = nn.Module()
rotor.register_buffer("phase", torch.tensor([1.0 + 2.0j]))
with warnings.catch_warnings():  # restores the warning filters on exit
    # PyTorch warns about both conversions; the complex-to-real warning comes once per process
    # (unless torch.set_warn_always(True) is on), so after this block the process will not show it.
    warnings.simplefilter("ignore")
    rotor.to(torch.float16)
    complex_ok = nn.Linear(2, 2).to(torch.complex64).weight.dtype == torch.complex64
complex_result = (rotor.phase.dtype, rotor.phase.item())
try:  # any other dtype is refused
    nn.Linear(2, 2).to(torch.int8)
    int_message = ""
except TypeError as error:
    int_message = str(error)
# A device moves every parameter and buffer, integer and non-persistent ones too, but no plain
# tensor attribute. The meta device shows it on any machine.
normed.register_buffer("table", torch.ones(2), persistent=False)  # not in the state_dict
table_saved = "table" in normed.state_dict()
kept = nn.Module()  # the same buffer, persistent: then the state_dict holds it
kept.register_buffer("table", torch.ones(2))
persistent_table_saved = "table" in kept.state_dict()
normed.scale = torch.ones(2)  # a plain attribute: not registered
normed.to("meta")
moved = dict(normed.named_parameters()) | dict(normed.named_buffers())  # state_dict lacks table
devices = {tensor.device.type for tensor in moved.values()}
plain_device = normed.scale.device.type
print(f"all modules in eval mode: {every_module_in_eval}, all float16: {every_parameter_half}")
print("state_dict of a nested BatchNorm1d includes its buffers:", buffer_keys)
print("after .to(torch.float16), running_mean and num_batches_tracked are:", *buffer_dtypes)
print("a complex buffer 1+2j after .to(torch.float16):", *complex_result)
print(".to(torch.int8):", int_message)
print("after .to('meta'), its parameters and buffers are on:", devices, end="; ")
print("a plain tensor attribute on:", plain_device)

block_count = 8 * 32 + 32 + 32 * 32 + 32 + 32 * 16 + 16
mlp_count = 16 * 16 + 16 + 16 * 4 + 4
relu_count = per_child["1"]
assert output_shape == (2, 4)
assert per_child == {"0": block_count, "1": 0, "2": mlp_count} and relu_count == 0
assert (block_count, mlp_count, parameter_count) == (1872, 340, 2212)
assert deepest_name == "0.net.0.weight"
assert tied_per_child == [40, 40] and tied_total == 40  # witness: shared-in-each-child
own_left_out = token_total - sum(token_per_child) == tokened.token.numel()
assert token_per_child == [20] and own_left_out  # witness: own-parameter-in-no-child
assert walks_every_level and parameter_count == 2212  # witness: any-depth
assert every_module_in_eval and every_module_in_train  # witness: eval-everywhere
assert every_parameter_half and buffer_dtypes == (torch.float16, torch.int64)  # witness: to-dtype
assert complex_result == (torch.float16, 1.0)  # witness: to-dtype-complex
int_refused = "only accepts floating point or complex dtypes" in int_message
assert complex_ok and int_refused  # witness: to-dtype-refused
every_tensor = {"table", "0.0.num_batches_tracked"} <= moved.keys() and len(moved) == 6
assert every_tensor and devices == {"meta"} and plain_device == "cpu"  # witness: to-device
assert buffer_keys == ["0.0.running_mean", "0.0.running_var"]  # witness: nested-bn-keys
saved = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
expected_keys = [f"0.0.{name}" for name in saved]  # every parameter and persistent buffer
persistence_decides = persistent_table_saved and not table_saved
assert state_keys == expected_keys and persistence_decides  # witness: state-dict-buffers

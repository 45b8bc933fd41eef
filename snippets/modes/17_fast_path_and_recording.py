"""Recording can change a model's numbers: TransformerEncoderLayer's fast path for inference runs
only when grad mode is off or none of its tensors requires grad."""

import copy
import warnings

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)
torch.manual_seed(0)


class OpNames(TorchDispatchMode):
    """Collect the names of the operations that reach the kernels (below autograd)."""

    def __init__(self) -> None:
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(str(func))
        return func(*args, **(kwargs or {}))


# A layer with a fast path for inference, such as
# TransformerEncoderLayer in evaluation mode, takes it only when grad mode is off or none of its
# tensors requires grad: not under inference_mode(False), nor under set_grad_enabled(True) inside
# inference_mode, which records nothing.
encoder_layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True).to(device).eval()
tokens = torch.randn(2, 5, 16).to(device)


def encode(layer: nn.Module, inference: bool, grad_mode: bool) -> tuple[torch.Tensor, bool]:
    """Run the layer inside inference_mode(inference) with grad mode set as given; say whether
    it took the fast path."""
    with torch.inference_mode(inference), torch.set_grad_enabled(grad_mode), OpNames() as ops:
        out = layer(tokens)
    return out, "aten._transformer_encoder_layer_fwd.default" in ops.names


fast_out, fast = encode(encoder_layer, inference=True, grad_mode=False)
recorded_out, recorded_fast = encode(encoder_layer, inference=False, grad_mode=True)
grad_on_out, grad_on_fast = encode(encoder_layer, inference=True, grad_mode=True)
frozen_layer = copy.deepcopy(encoder_layer).requires_grad_(False)
_, frozen_fast = encode(frozen_layer, inference=False, grad_mode=True)  # grad on, nothing to record
print("fast path taken: inference_mode", fast, "| inference_mode(False)", recorded_fast)
print("  set_grad_enabled(True) inside inference_mode", grad_on_fast, end="")
print(" | frozen layer, grad mode on", frozen_fast)
differ = not torch.equal(recorded_out, fast_out)
# In the last bits: within 4 units of float32's precision at the output's largest magnitude.
last_bits = 4 * torch.finfo(fast_out.dtype).eps * fast_out.abs().max()
in_last_bits = bool((recorded_out - fast_out).abs().max() <= last_bits)
print(f"recorded output vs fast path: max difference {(recorded_out - fast_out).abs().max():.0e}")

# With this mask (the last two tokens of the second sequence padded), TransformerEncoder's fast
# path packs the tokens into a nested tensor and unpacks it with zeros at the padded positions; the
# recorded path computes ordinary values there.
torch.manual_seed(2)
encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2)
encoder = encoder.to(device).eval()
padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2]).to(device)  # last 2 tokens padded
padded_sums = []
with warnings.catch_warnings():  # packing warns that nested tensors are a prototype API
    warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors")
    for inference in (True, False):
        with torch.inference_mode(inference):
            out = encoder(tokens, src_key_padding_mask=padding)
        padded_sums.append(out[1, 3:].abs().sum().item())
print("sum of |output| at the padded positions, fast path / recorded:", end=" ")
print(f"{padded_sums[0]:.2f} / {padded_sums[1]:.2f}")

has_fast_path = device.type != "mps"  # no fast path on MPS at all
taken = [fast, recorded_fast, grad_on_fast, frozen_fast]
records_nothing = not grad_on_out.requires_grad  # set_grad_enabled(True) inside inference_mode
fast_path_needs = taken == [has_fast_path, False, False, has_fast_path] and records_nothing
assert fast_path_needs  # witness: fast-path-condition
if device.type == "cpu":
    assert differ and in_last_bits  # witness: recording-changes-numbers
    end_fast, end_recorded = padded_sums
    assert end_fast == 0 and end_recorded > 1  # witness: padded-positions-zero

"""eval() does not stop gradients, no_grad() does not stop dropout, F.dropout ignores the mode."""

import inspect
import warnings
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
print("this run uses:", device)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 32), nn.Dropout(0.5), nn.Linear(32, 1)).to(device)
x = torch.ones(8, 4, device=device)

# 1. Evaluation mode still records the graph: backward() works and fills .grad.
model.eval()
out = model(x)
eval_requires_grad = out.requires_grad
out.sum().backward()
eval_fills_grad = model[0].weight.grad is not None
print(
    "eval mode: output requires grad:",
    eval_requires_grad,
    "| backward filled .grad:",
    eval_fills_grad,
)

# 2. torch.no_grad() stops recording, but dropout still draws a new mask on every call.
model.train()
with torch.no_grad():
    first, second = model(x), model(x)
no_grad_requires_grad = first.requires_grad
no_grad_still_random = not torch.equal(first, second)
print(
    "no_grad in training mode: requires grad:",
    no_grad_requires_grad,
    "| outputs differ:",
    no_grad_still_random,
)

# Neither switch touches the other: train()/eval() leave grad mode, the contexts leave the flag.
independent = []
for mode in (True, False):
    model.train(mode)
    independent.append(torch.is_grad_enabled() and model.training == mode)
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            independent.append(model.training == mode)  # entering leaves the flag
            model.train(not mode)  # switching modes inside leaves grad mode off
            independent.append(not torch.is_grad_enabled() and model[1].training != mode)
        independent.append(torch.is_grad_enabled() and model[1].training != mode)  # so does leaving
        model.train(mode)
print("the flag and grad mode never changed each other:", all(independent))

# The exception: a layer may read both. In evaluation mode, with autograd off or nothing it checks
# requiring grad (and batch_first=True, padding at the end, among other conditions),
# TransformerEncoder takes its fast path, which packs the sequences into a nested tensor without
# the padded positions, and returns zeros there. Its padding-mask check has CPU and CUDA kernels
# only (not MPS, see pytorch/pytorch#141287), so this part runs on CUDA or else on the CPU.
encoder_device = device if device.type == "cuda" else torch.device("cpu")
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
encoder = nn.TransformerEncoder(layer, num_layers=1).to(encoder_device).eval()
unpacked = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
unpacked = unpacked.to(encoder_device).eval()
src = torch.randn(3, 4, 8).to(encoder_device)
padding = torch.tensor(  # True: padded. Two padded tokens, one, none
    [[False, False, True, True], [False, False, False, True], [False] * 4]
)
padding = padding.to(encoder_device)
with warnings.catch_warnings():  # the fast path warns that nested tensors are a prototype
    warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors")
    nest, packed = torch._nested_tensor_from_mask, []  # the packing, counted and kept

    def pack(*args: object, **kwargs: object) -> torch.Tensor:
        packed.append(nest(*args, **kwargs))
        return packed[-1]

    with mock.patch.object(torch, "_nested_tensor_from_mask", side_effect=pack) as packing:
        recorded = encoder(src, src_key_padding_mask=padding)
        packs = [packing.call_count]
        with torch.no_grad():
            not_recorded = encoder(src, src_key_padding_mask=padding)
        packs.append(packing.call_count)
    with torch.no_grad():
        fast_path_was = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)  # control: the same call, no fast path
        try:
            without_fast_path = encoder(src, src_key_padding_mask=padding)
        finally:
            torch.backends.mha.set_fastpath_enabled(fast_path_was)
        without_nesting = unpacked(src, src_key_padding_mask=padding)  # the same weights, unpacked
        warnings.filterwarnings("ignore", message="enable_nested_tensor is True, but")
        seq_layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)  # batch_first=False
        seq_layer.load_state_dict(layer.state_dict())  # the same weights, sequence first
        seq_first = nn.TransformerEncoder(seq_layer, num_layers=1).to(encoder_device).eval()
        sequence_first = seq_first(src.transpose(0, 1), src_key_padding_mask=padding)
        left_padding = padding.flip(1)  # the padding at the start: mask_check refuses to pack it
        at_start = encoder(src, src_key_padding_mask=left_padding)
        padded_at_start = at_start[left_padding]
    at_start_recorded = encoder(src, src_key_padding_mask=left_padding)  # autograd on: no packing
    unchecked = nn.TransformerEncoder(layer, num_layers=1, mask_check=False).to(encoder_device)
    with torch.no_grad():  # without the mask check it packs left padding too, and gets it wrong
        at_start_packed = unchecked.eval()(src, src_key_padding_mask=left_padding)
    encoder.requires_grad_(False)  # autograd on, but nothing requires grad: the fast path again
    frozen, frozen_grad_on = encoder(src, src_key_padding_mask=padding), torch.is_grad_enabled()
    src_needs_grad = src.clone().requires_grad_()  # ... unless the input requires grad
    input_checked = encoder(src_needs_grad, src_key_padding_mask=padding)
    encoder.requires_grad_(True)
    # The encoder checks only the input and its FIRST layer's parameters before packing. Two
    # layers, the first frozen, autograd on: it packs, and the second layer, whose parameters
    # require grad, is off its own fast path and cannot take the packed input.
    two_layers = nn.TransformerEncoder(layer, num_layers=2).to(encoder_device).eval()
    two_layers.layers[0].requires_grad_(False)
    try:
        two_layers(src, src_key_padding_mask=padding)
        first_frozen = "no error"
    except AssertionError as error:
        first_frozen = f"AssertionError: {str(error).split('.')[0]}"
    two_layers.requires_grad_(True).layers[1].requires_grad_(False)  # the second one frozen
    second_frozen = two_layers(src, src_key_padding_mask=padding)
    # It reads only the first layer's mode too. Fine-tuning: the encoder in training mode, the
    # lower layer frozen and kept in eval mode; a training step packs, and the upper layer fails.
    two_layers.requires_grad_(True).train().layers[0].requires_grad_(False).eval()
    try:
        two_layers(src, src_key_padding_mask=padding).sum().backward()
        fine_tuning = "no error"
    except AssertionError as error:
        fine_tuning = f"AssertionError: {str(error).split('.')[0]}"
    two_layers.eval()
    two_unpacked = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    two_unpacked = two_unpacked.to(encoder_device).eval()
    two_unpacked.layers[0].requires_grad_(False)
    first_frozen_unpacked = two_unpacked(src, src_key_padding_mask=padding)
    # A final norm (nn.Transformer gives its encoder one) comes after the zeros are put in.
    normed = nn.TransformerEncoder(layer, num_layers=1, norm=nn.LayerNorm(8)).to(encoder_device)
    with torch.no_grad():
        normed.norm.bias.fill_(0.5)  # as after training; a new LayerNorm's bias is 0
        padded_normed = normed.eval()(src, src_key_padding_mask=padding)[padding]
transformer = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
transformer_has_norm = isinstance(transformer.encoder.norm, nn.LayerNorm)
padded_recorded = recorded[padding].abs().max().item()
padded_not_recorded = not_recorded[padding].abs().max().item()
padded_without_fast_path = without_fast_path[padding].abs().max().item()
padded_without_nesting = without_nesting[padding].abs().max().item()
padded_sequence_first = sequence_first.transpose(0, 1)[padding].abs().max().item()
padded_frozen = frozen[padding].abs().max().item()
padded_input_checked = input_checked[padding].abs().max().item()
padded_second_frozen = second_frozen[padding].abs().max().item()
padded_first_frozen_unpacked = first_frozen_unpacked[padding].abs().max().item()
padded_at_start_largest = padded_at_start.abs().max().item()
at_start_unpacked = torch.allclose(at_start, at_start_recorded, atol=1e-5)  # every position
mask_check_decides = not torch.allclose(at_start_packed, at_start_recorded, atol=1e-5)
# mask_check=False keeps as many positions from the start of each row as it has real tokens,
# whatever they hold, and returns zeros after them. Per position: largest |output|, and if right.
real = ~left_padding
kept = torch.arange(4, device=encoder_device) < real.sum(dim=1, keepdim=True)
unchecked_size = at_start_packed.abs().amax(dim=-1)
unchecked_right = (at_start_packed - at_start_recorded).abs().amax(dim=-1) < 1e-5
unpadded_close = torch.allclose(recorded[~padding], not_recorded[~padding], atol=1e-5)
print(f"encoder in eval mode, padded positions: largest |output| {padded_recorded:.3f}", end="")
print(f", under no_grad {padded_not_recorded}; other positions close: {unpadded_close}")
print(f"under no_grad without the fast path {padded_without_fast_path:.3f}", end="")
print(f", with enable_nested_tensor=False {padded_without_nesting:.3f}", end="")
print(f", with batch_first=False {padded_sequence_first:.3f}", end="")
print(f"; autograd on, parameters frozen {padded_frozen}", end="")
print(f", but the input requiring grad {padded_input_checked:.3f}")
print("two layers, autograd on, first layer frozen:", first_frozen)
print("training mode, first layer frozen and in eval mode, a training step:", fine_tuning)
print(f"  second layer frozen instead {padded_second_frozen:.3f}", end="")
print(f"; first frozen, enable_nested_tensor=False {padded_first_frozen_unpacked:.3f}")
print("with a final LayerNorm whose bias is 0.5, under no_grad, padded positions hold:", end="")
print(f" {padded_normed.unique().tolist()}")
print(f"under no_grad, padding at the start {padded_at_start_largest:.3f}", end="")
print(f", every position as with autograd on: {at_start_unpacked}")
print("mask_check=False, left padding, largest |output| per position:")
print(unchecked_size)
print("real tokens that come out right, per row:", (real & unchecked_right).sum(dim=1).tolist())


# 3. The functional form takes the mode as an argument, and its default is training=True.
class Forgetful(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5)  # always drops, in any mode


class Aware(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, p=0.5, training=self.training)


h = torch.ones(1000, device=device)
forgetful_drops_in_eval = bool((Forgetful().eval()(h) == 0).any())
aware_drops_in_eval = bool((Aware().eval()(h) == 0).any())
print("in eval mode, F.dropout without training= still drops:", forgetful_drops_in_eval)
print("in eval mode, F.dropout(training=self.training) drops:", aware_drops_in_eval)
defaults = {  # the default of training= differs within the family
    f.__name__: inspect.signature(f).parameters["training"].default
    for f in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout)
}
print("default training=:", defaults)

assert eval_requires_grad  # witness: eval-requires-grad
assert eval_fills_grad  # witness: eval-fills-grad
assert no_grad_requires_grad is False
assert no_grad_still_random  # witness: no-grad-still-drops
assert all(independent)  # witness: independent
assert padded_recorded > 0.1 and padded_not_recorded == 0.0  # witness: encoder-reads-both
assert (
    padded_without_fast_path > 0.1 and padded_without_nesting > 0.1
)  # witness: fast-path-off-no-zeros
assert padded_sequence_first > 0.1  # witness: batch-first-needed
left_padding_unpacked = at_start_unpacked and mask_check_decides
assert padded_at_start_largest > 0.1 and left_padding_unpacked  # witness: left-padding-no-zeros
keeps_first = bool((unchecked_size[kept] > 0.1).all() and (unchecked_size[~kept] == 0).all())
assert mask_check_decides and keeps_first  # witness: unchecked-keeps-first
row_0_kept = (unchecked_size[0] > 0.1).tolist()  # two padded, two real tokens
row_1_wrong = (real & (unchecked_size > 0.1) & ~unchecked_right)[1].tolist()  # one padded token
padding_kept_real_lost = row_0_kept == [True, True, False, False] == left_padding[0].tolist()
real_non_zero_wrong = row_1_wrong == [False, True, True, False]
assert padding_kept_real_lost and real_non_zero_wrong  # witness: unchecked-left-padding-wrong
assert padded_frozen == 0.0 and frozen_grad_on  # witness: frozen-zeros
packed_error = "AssertionError: MultiheadAttention does not support NestedTensor outside of its"
packs_on_first_layer = all(error.startswith(packed_error) for error in (first_frozen, fine_tuning))
not_packed = min(padded_input_checked, padded_second_frozen, padded_first_frozen_unpacked) > 0.1
assert packs_on_first_layer and not_packed  # witness: first-layer-decides
normed_gives_bias = torch.equal(padded_normed, torch.full_like(padded_normed, 0.5))
assert normed_gives_bias and transformer_has_norm  # witness: final-norm-gives-bias
assert unpadded_close  # witness: encoder-reads-both-unpadded
sequences = packed[0].unbind() if packed else ()  # each one: its tokens without the padding
unpadded = len(sequences) == len(src) and all(
    torch.equal(kept, src[i][~padding[i]]) for i, kept in enumerate(sequences)
)
assert packs == [0, 1] and unpadded  # witness: packs-under-no-grad
assert forgetful_drops_in_eval  # witness: functional-ignores-mode
assert not aware_drops_in_eval  # witness: training-argument
alpha_defaults = {"alpha_dropout": False, "feature_alpha_dropout": False}
assert defaults == {"dropout": True, **alpha_defaults}  # witness: functional-defaults

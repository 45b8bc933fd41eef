"""TransformerEncoderLayer's fast path and a float src_mask: an additive bias read as a mask."""

import threading
from unittest import mock

import torch
from torch import nn

# The CPU's fast path, whatever device the page was built on.
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True).eval()
tokens = torch.randn(2, 3, 8)  # (batch, length, features)
position = torch.arange(3.0)
bias = -(position[None] - position[:, None]).abs()  # ALiBi-style: 0 on the diagonal, negative
causal = nn.Transformer.generate_square_subsequent_mask(3)  # 0 and -inf
fast_path_was = torch.backends.mha.get_fastpath_enabled()


def run(mask: torch.Tensor, fast: bool) -> torch.Tensor:
    torch.backends.mha.set_fastpath_enabled(fast)
    try:
        with torch.no_grad():
            return layer(tokens, src_mask=mask)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path_was)


def agree(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, atol=1e-5)


fast = run(bias, fast=True)
added = agree(fast, run(bias, fast=False))  # the slow path adds the bias to the scores
as_bool = agree(fast, run(bias != 0, fast=False))  # a bool mask: True masks a position out
flipped_as_bool = agree(run(-bias, fast=True), run(-bias != 0, fast=False))  # positive entries
no_zero_nan = bool(run(bias - 1, fast=True).isnan().all())  # no zero left in any row
causal_agrees = agree(run(causal, fast=True), run(causal, fast=False))
print("float bias, no_grad: fast path matches")
print(f"  slow path on bias: {added}, slow path on bias != 0: {as_bool}")
print("  bias - 1 (no zero in a row), fast path:", run(bias - 1, fast=True)[0, 0, :3].tolist())

# nn.MultiheadAttention alone sends a float mask to its slow path: its fused kernel is not called.
attention = nn.MultiheadAttention(8, 2, batch_first=True).eval()
fused = torch._native_multi_head_attention  # the kernel of its fast path; the patch wraps it
torch.backends.mha.set_fastpath_enabled(True)
patch = mock.patch.object(torch, "_native_multi_head_attention", wraps=fused)  # undone at exit
try:
    with torch.no_grad(), patch as kernel:
        mha_fast = attention(tokens, tokens, tokens, attn_mask=bias, need_weights=False)[0]
        float_calls = kernel.call_count
        attention(tokens, tokens, tokens, attn_mask=bias != 0, need_weights=False)  # control
        bool_calls = kernel.call_count - float_calls
        torch.backends.mha.set_fastpath_enabled(False)
        mha_slow = attention(tokens, tokens, tokens, attn_mask=bias, need_weights=False)[0]
finally:
    torch.backends.mha.set_fastpath_enabled(fast_path_was)
mha_agrees = agree(mha_fast, mha_slow)
print(f"MultiheadAttention, fused kernel calls: float mask {float_calls}, bool mask {bool_calls}")


# TorchScript: inside a scripted function or model the flag always reads as on.
def flag_in_script() -> bool:
    return torch.backends.mha.get_fastpath_enabled()


scripted_layer = torch.jit.script(layer)
torch.backends.mha.set_fastpath_enabled(False)
try:
    flag_scripted = torch.jit.script(flag_in_script)()
    with torch.no_grad():
        scripted_like_fast = agree(scripted_layer(tokens, src_mask=bias), fast)
finally:
    torch.backends.mha.set_fastpath_enabled(fast_path_was)
print("flag off; scripted layer on bias matches the fast path:", scripted_like_fast)

# Training only the bias, with the layer frozen and in evaluation mode, takes the fast path too.
layer.requires_grad_(False)
trained = bias.clone().requires_grad_(True)
out = layer(tokens, src_mask=trained)  # the forward runs
no_derivative = type(out.grad_fn).__name__ == "NotImplemented"
try:
    out[..., 0].sum().backward()
    backward_error = "none"
except RuntimeError as error:
    backward_error = str(error)
print("training the bias, fast path on:", backward_error[:72])
torch.backends.mha.set_fastpath_enabled(False)  # process-wide: restore it afterwards
try:
    layer(tokens, src_mask=trained)[..., 0].sum().backward()
finally:
    torch.backends.mha.set_fastpath_enabled(fast_path_was)
largest = trained.grad.abs().max().item()
print(f"fast path off: gradient on the bias, largest |entry| {largest:.2f}")

# One flag for the process: set in another thread, read in this one.
switch = threading.Thread(target=torch.backends.mha.set_fastpath_enabled, args=(False,))
switch.start()
switch.join()
seen_here = torch.backends.mha.get_fastpath_enabled()
torch.backends.mha.set_fastpath_enabled(fast_path_was)

reads_as_bool = as_bool and flipped_as_bool and no_zero_nan and not added
assert reads_as_bool and causal_agrees  # witness: fast-path-reads-mask-as-bool
slow_for_float = float_calls == 0 and bool_calls == 1 and mha_agrees
assert slow_for_float  # witness: mha-alone-adds-float-mask
assert flag_scripted and scripted_like_fast  # witness: script-ignores-switch
no_backward = backward_error.startswith("derivative for aten::_transformer_encoder_layer_fwd")
assert no_derivative and no_backward and largest > 0  # witness: fast-path-no-backward
assert fast_path_was and not seen_here  # witness: fastpath-setting-process-wide

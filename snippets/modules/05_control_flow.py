"""forward is ordinary Python: it may reuse a layer, branch on a shape and loop on a value."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class FixedMixMLP(nn.Module):
    """A fixed random mix of the input, then one trained layer applied until the result settles."""

    def __init__(self, width=16, seed=0, tolerance=1.0, max_rounds=20) -> None:
        super().__init__()
        self.layer = nn.Linear(width, width)
        # A seeded CPU generator draws the same matrix in every construction, given the same torch
        # and CPU kernels, so it is not saved: a non-persistent buffer, which still follows .to().
        # Drawn on the CPU in float32 whatever the default device and dtype, it then goes to the
        # default device and dtype, where the layer was made.
        generator = torch.Generator().manual_seed(seed)
        mix = torch.randn(width, width, generator=generator, dtype=torch.float32, device="cpu")
        mix = mix / width**0.5
        default = (torch.get_default_device(), torch.get_default_dtype())
        self.register_buffer("mix", mix.to(*default), persistent=False)
        self.tolerance, self.max_rounds = tolerance, max_rounds
        self.rounds = 0  # how many rounds the last call ran, kept to look at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 1
        if unbatched:  # a branch on the input's shape: accept a single example too
            x = x.unsqueeze(0)
        drive = x @ self.mix
        h = torch.tanh(drive)
        change, self.rounds = float("inf"), 0
        while change > self.tolerance and self.rounds < self.max_rounds:  # reads a value
            new = torch.tanh(self.layer(h) + drive)  # the same layer in every round
            change = (new - h).abs().sum()  # summed over the whole batch
            h, self.rounds = new, self.rounds + 1
        return h.squeeze(0) if unbatched else h


# --8<-- [end:class]
torch.manual_seed(0)
model = FixedMixMLP().to(device)
X = torch.randn(3, 16).to(device)
Y = model(X)
batch_rounds = model.rounds
output_shape = tuple(Y.shape)
single_shape = tuple(model(X[0]).shape)
print(f"batch output {output_shape} after {batch_rounds} rounds, single example {single_shape}")

parameter_count = sum(p.numel() for p in model.parameters())
buffer_count = sum(b.numel() for b in model.buffers())
mix_is_parameter = any(p is model.mix for p in model.parameters())
mix_device = model.mix.device.type  # the buffer moved with .to(device)
rebuilt_same = torch.equal(FixedMixMLP().mix, model.mix.cpu())  # same seed, same matrix
# Without device="cpu", randn would draw on the default device (meta here, which any build has).
with torch.device("meta"):
    draws = [torch.randn(1, device=d, generator=torch.Generator()) for d in (None, "cpu")]
with torch.device(device):  # a GPU default device, on a machine with one
    rebuilt_on_default = torch.equal(FixedMixMLP().mix.cpu(), model.mix.cpu())
# randn follows the default dtype, and a float64 draw from the same seed is another matrix.
# Drawn in float32, mix is the same under a float64 default, only converted.
default_dtype = torch.get_default_dtype()
torch.set_default_dtype(torch.float64)
try:
    mix_under_float64 = FixedMixMLP().mix
    float64_draw = torch.randn(16, 16, generator=torch.Generator().manual_seed(0)) / 16**0.5
finally:
    torch.set_default_dtype(default_dtype)  # a process-wide setting: put it back
state_keys = list(model.state_dict())
state_keys_text = ", ".join(state_keys)
print(f"parameters: {parameter_count}  buffer elements: {buffer_count}  keys: {state_keys_text}")

# Built on the meta device, then given memory by to_empty(), a model holds no set values. Zeros
# stand in for whatever that memory holds: load_state_dict fills the layer, but not mix.
with torch.device("meta"):
    materialized = FixedMixMLP()
try:
    materialized.to(device)  # a meta tensor has no values to copy
    to_message = ""
except NotImplementedError as error:
    to_message = str(error)
print("to() on a meta model:", to_message.split(";")[0])
materialized.to_empty(device=device)
materialized.mix.zero_()
materialized.load_state_dict(model.state_dict())
layer_loaded = torch.equal(materialized.layer.weight, model.layer.weight)
mix_left_as_is = not materialized.mix.any()
print("built on meta, then loaded: layer restored", layer_loaded, " mix still zero", mix_left_as_is)

# The meta device, which every build has, holds shapes without values. The buffer moves there
# with the module. The shape test passes on it; the loop's first test of a value fails.
on_meta = FixedMixMLP().to("meta")
meta_mix_device = on_meta.mix.device.type
try:
    on_meta(torch.empty(16, device="meta"))
    meta_message = ""
except RuntimeError as error:
    meta_message = str(error)
meta_rounds = on_meta.rounds  # the branch and one round ran before the error
print(f"on meta: mix is on {meta_mix_device}, forward raised after {meta_rounds} round:")
print(" ", meta_message)

# The loop tests the change summed over the whole batch, so one example's output depends on its
# batch-mates: alone, example 0 settles in fewer rounds. Forced to run the batch's number of rounds
# (tolerance 0: it never stops early), it gives its batched output again, up to float rounding:
# a batch of 3 and a single example go through matrix products of different shapes.
alone = model(X[0])
alone_rounds = model.rounds
same_alone_as_in_batch = torch.allclose(alone, Y[0])
forced = FixedMixMLP(tolerance=0.0, max_rounds=batch_rounds).to(device)
forced.load_state_dict(model.state_dict())  # the layer's weights; mix is rebuilt from the seed
forced_matches_batch = torch.allclose(forced(X[0]), Y[0], rtol=0, atol=1e-5)
print(f"example 0 alone: {alone_rounds} rounds, in the batch: {batch_rounds}")
print("alone, with the batch's number of rounds, it matches the batch:", forced_matches_batch)

# The buffer converts with the module, so the forward pass still works in float64.
# float64 on the CPU: some accelerators (Apple's MPS) have no float64.
model.to("cpu", torch.float64)
mix_dtype = str(model.mix.dtype)
works_in_float64 = model(X.cpu().double()).dtype == torch.float64
print("on the CPU in float64: mix is", mix_dtype, " forward works:", works_in_float64)

# The page's note on export: what the docstrings of torch.cond and torch.while_loop say, and a
# backward pass through torch.while_loop, which raises no error but gives another gradient than
# the same three rounds written as a Python loop.
prototypes = all("prototype feature" in f.__doc__ for f in (torch.cond, torch.while_loop))
untrained = "doesn't support training" in torch.while_loop.__doc__
with torch.random.fork_rng(devices=[]):
    looped_layer, start = nn.Linear(4, 4), torch.randn(4)
    _, looped = torch.while_loop(
        lambda i, h: i < 3,
        lambda i, h: (i + 1, torch.tanh(looped_layer(h))),
        (torch.tensor(0), start),
    )
    looped.sum().backward()  # no error
backward_ran = looped_layer.weight.grad is not None
while_loop_grad = looped_layer.weight.grad.clone()
looped_layer.zero_grad()
in_python = start
for _ in range(3):
    in_python = torch.tanh(looped_layer(in_python))
in_python.sum().backward()
same_forward = torch.allclose(looped, in_python)
while_loop_grad_gap = round((while_loop_grad - looped_layer.weight.grad).abs().max().item(), 3)
print("same output as a Python loop:", same_forward, end=", ")
print("largest gap between their weight gradients:", while_loop_grad_gap)

assert output_shape == (3, 16) and single_shape == (16,)
assert parameter_count == 16 * 16 + 16 == 272 and buffer_count == 256
assert not mix_is_parameter  # witness: buffer-not-parameter
assert mix_device == device.type and meta_mix_device == "meta"  # witness: buffer-moves
assert state_keys == ["layer.weight", "layer.bias"]  # witness: non-persistent
assert rebuilt_same  # witness: rebuilt-from-seed
assert [t.device.type for t in draws] == ["meta", "cpu"] and rebuilt_on_default  # witness: cpu-draw
float32_kept = torch.equal(mix_under_float64, model.mix.cpu().double())
assert float32_kept and not torch.allclose(float64_draw, mix_under_float64)  # witness: float32-draw
assert layer_loaded and mix_left_as_is  # witness: to-empty-keeps-mix-unset
assert to_message.startswith("Cannot copy out of meta tensor")  # witness: to-refuses-meta
read_as_bool = meta_message.startswith("Tensor.item() cannot be called on meta tensors")
assert meta_rounds == 1 and read_as_bool  # witness: shape-test-needs-no-values
assert not same_alone_as_in_batch  # witness: coupled
assert alone_rounds < batch_rounds and forced_matches_batch  # witness: fewer-rounds
assert (alone_rounds, batch_rounds) == (3, 4) and batch_rounds < model.max_rounds
assert mix_dtype == "torch.float64" and works_in_float64  # witness: buffer-converts
assert untrained  # witness: while-loop-docstring
assert prototypes  # witness: prototypes
assert backward_ran  # witness: while-loop-backward-runs
assert same_forward and while_loop_grad_gap > 0.01  # witness: while-loop-gradient-differs

"""Tie a language model's input embedding to its output layer: one (vocab, d) matrix, two roles."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TinyLanguageModel(nn.Module):
    def __init__(self, vocab_size: int, d_model: int, tie_weights: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)  # weight: (vocab_size, d_model)
        self.mix = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU())
        self.out = nn.Linear(d_model, vocab_size, bias=False)  # weight: (vocab_size, d_model) too
        if tie_weights:
            # Assigning a Parameter registers it; the Linear's own weight is dropped.
            self.out.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.mix(self.embed(tokens)))  # logits: (batch, sequence, vocab_size)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


vocab_size, d_model = 100, 16
torch.manual_seed(0)
tied = TinyLanguageModel(vocab_size, d_model, tie_weights=True).to(device)
untied = TinyLanguageModel(vocab_size, d_model, tie_weights=False)
tied_count, untied_count = count(tied), count(untied)
saved = untied_count - tied_count
print(
    f"parameters: untied {untied_count}, tied {tied_count},",
    f"saved {saved} = {vocab_size} x {d_model}",
)

registered_on_out = dict(tied.out.named_parameters())["weight"] is tied.embed.weight
still_tied = tied.out.weight is tied.embed.weight  # .to(device) kept the tie
untied.to(device)
tokens = torch.randint(0, vocab_size, (2, 5)).to(device)
for model in (tied, untied):
    logits = model(tokens)
    # Predict each token (a toy target: enough to get gradients).
    nn.functional.cross_entropy(logits.flatten(0, 1), tokens.flatten()).backward()
logits_shape = tuple(logits.shape)
distinct_tokens = tokens.unique().numel()
untied_rows = int((untied.embed.weight.grad != 0).any(dim=1).sum())
tied_rows = int((tied.embed.weight.grad != 0).any(dim=1).sum())
output_rows = int((untied.out.weight.grad != 0).any(dim=1).sum())  # the output layer's share
state_keys = ", ".join(tied.state_dict())
# A dtype change is a real conversion on any machine, also where device is the CPU. It keeps
# each Parameter object and replaces the data inside it.
converted = TinyLanguageModel(vocab_size, d_model, tie_weights=True)
embedding_object = converted.embed.weight
converted.to(torch.float64)
tie_survives_conversion = converted.out.weight is converted.embed.weight
kept_parameter_object = converted.embed.weight is embedding_object
print("tied after .to(device):", still_tied, " after .to(torch.float64):", tie_survives_conversion)
print("logits shape:", logits_shape)
print(
    f"embedding rows with a gradient: untied {untied_rows}",
    f"(the {distinct_tokens} distinct input tokens), tied {tied_rows}",
)
print("state_dict keys:", state_keys)

# With this opt-in flag, conversion builds a new Parameter per module instead, untying the two.
previous = torch.__future__.get_overwrite_module_params_on_conversion()
torch.__future__.set_overwrite_module_params_on_conversion(True)
try:
    overwritten = TinyLanguageModel(vocab_size, d_model, tie_weights=True).to(torch.float64)
finally:
    torch.__future__.set_overwrite_module_params_on_conversion(previous)
tied_after_overwrite = overwritten.out.weight is overwritten.embed.weight
print("with overwrite_module_params_on_conversion, tied after .to():", tied_after_overwrite)
# A move to a device whose tensors cannot take over the old data in place ("meta", which holds
# shapes without data) also builds new Parameters.
on_meta = TinyLanguageModel(vocab_size, d_model, tie_weights=True).to("meta")
tied_on_meta = on_meta.out.weight is on_meta.embed.weight
with torch.device("meta"):  # built without memory, tied, then materialized with to_empty()
    built_on_meta = TinyLanguageModel(vocab_size, d_model, tie_weights=True)
tied_when_built = built_on_meta.out.weight is built_on_meta.embed.weight
built_on_meta.to_empty(device="cpu")
tied_after_to_empty = built_on_meta.out.weight is built_on_meta.embed.weight
print("tied after .to('meta'):", tied_on_meta, " after to_empty():", tied_after_to_empty)

# load_state_dict(assign=True) puts the checkpoint's tensors in place of the parameters, one
# Parameter per key: two objects, counted twice, though both sit on the checkpoint's one memory.
reloaded = TinyLanguageModel(vocab_size, d_model, tie_weights=True)
reloaded.load_state_dict(tied.state_dict(), assign=True)
tied_after_assign = reloaded.out.weight is reloaded.embed.weight
count_after_assign = count(reloaded)
memory_after_assign = {
    p.untyped_storage().data_ptr() for p in (reloaded.out.weight, reloaded.embed.weight)
}
with torch.no_grad():
    reloaded.out.weight[0, 0] = 7.0  # write into one of the two Parameters ...
write_shows_in_other = reloaded.embed.weight[0, 0].item() == 7.0  # ... and read the other
print(
    f"after load_state_dict(assign=True): tied {tied_after_assign},",
    f"{count_after_assign} parameters, {len(memory_after_assign)} storage for the two weights,",
    f"a write into out.weight shows in embed.weight: {write_shows_in_other}",
)


# An initialization applied to every nn.Linear also writes into the tied embedding.
def zero_linear_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.weight)


initialized = TinyLanguageModel(vocab_size, d_model, tie_weights=True).apply(zero_linear_weights)
embedding_zeroed = bool(torch.all(initialized.embed.weight == 0))
print("zeroing every Linear's weight also zeroed the embedding:", embedding_zeroed)

# At the sizes of GPT-2 small the same tie removes tens of millions of parameters.
gpt2_vocab, gpt2_width = 50_257, 768
gpt2_saved = gpt2_vocab * gpt2_width
print(f"vocabulary {gpt2_vocab:,} x width {gpt2_width}: {gpt2_saved:,} parameters saved by tying")

assert tuple(tied.embed.weight.shape) == tuple(untied.out.weight.shape) == (vocab_size, d_model)
assert registered_on_out  # witness: assignment-registers
assert (untied_count, tied_count) == (1600 + 272 + 1600, 1600 + 272)
assert saved == vocab_size * d_model == 1600
assert still_tied  # witness: moving-keeps-tie
assert tie_survives_conversion  # witness: conversion-keeps-tie
assert kept_parameter_object  # witness: to-keeps-parameter-object
assert not tied_after_overwrite  # witness: overwrite-flag-unties
assert not tied_on_meta  # witness: meta-unties
assert tied_when_built and not tied_after_to_empty  # witness: to-empty-unties
assert logits_shape == (2, 5, vocab_size)
assert untied_rows == distinct_tokens < vocab_size  # witness: untied-rows-present-only
assert tied_rows == vocab_size  # witness: tied-every-row
assert output_rows == vocab_size  # witness: output-scores-every-token
assert state_keys == "embed.weight, mix.0.weight, mix.0.bias, out.weight"
assert not tied_after_assign and count_after_assign == untied_count  # witness: assign-unties
assert len(memory_after_assign) == 1 and write_shows_in_other  # witness: assign-shares-memory
assert embedding_zeroed  # witness: init-writes-both
assert gpt2_saved == 38_597_376

"""Tie a language model's input embedding to its output layer: one (vocab, d) matrix, two roles."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TinyLanguageModel(nn.Module):
    def __init__(
        self, vocab_size: int, d_model: int, tie_weights: bool, padding_idx: int | None = None
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx)  # weight: (vocab_size, d_model)
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


def tied_model() -> TinyLanguageModel:
    return TinyLanguageModel(vocab_size, d_model, tie_weights=True)


torch.manual_seed(0)
tied = tied_model()
embedding_before_move = tied.embed.weight
tied.to(device)
untied = TinyLanguageModel(vocab_size, d_model, tie_weights=False)
tied_count, untied_count = count(tied), count(untied)
saved = untied_count - tied_count
print(
    f"parameter elements: untied {untied_count}, tied {tied_count},",
    f"saved {saved} = {vocab_size} x {d_model}",
)

registered_on_out = dict(tied.out.named_parameters())["weight"] is tied.embed.weight
still_tied = tied.out.weight is tied.embed.weight  # .to(device) kept the tie
kept_object_on_move = tied.embed.weight is embedding_before_move
untied.to(device)
tokens = torch.randint(0, vocab_size, (2, 5)).to(device)
for model in (tied, untied):
    logits = model(tokens)
    # Predict each token (a toy target: enough to get gradients).
    nn.functional.cross_entropy(logits.flatten(0, 1), tokens.flatten()).backward()
logits_shape = tuple(logits.shape)
token_ids = set(tokens.unique().tolist())
untied_row_ids = set((untied.embed.weight.grad != 0).any(dim=1).nonzero().flatten().tolist())
distinct_tokens, untied_rows = len(token_ids), len(untied_row_ids)
tied_rows = int((tied.embed.weight.grad != 0).any(dim=1).sum())
output_rows = int((untied.out.weight.grad != 0).any(dim=1).sum())  # the output layer's share
state_keys = ", ".join(tied.state_dict())
print("logits shape:", logits_shape)
print(
    f"embedding rows with a gradient: untied {untied_rows}",
    f"(exactly the {distinct_tokens} distinct input tokens: {untied_row_ids == token_ids}),",
    f"tied {tied_rows}",
)
print("state_dict keys:", state_keys)

# padding_idx=0 keeps row 0 out of the embedding's gradient, but not out of the output layer's.
with_padding = torch.tensor([[0, 3, 4, 0]]).to(device)
padding_row_grads = []
for tie in (False, True):
    padded = TinyLanguageModel(vocab_size, d_model, tie_weights=tie, padding_idx=0).to(device)
    padded_logits = padded(with_padding).flatten(0, 1)
    nn.functional.cross_entropy(padded_logits, with_padding.flatten()).backward()
    padding_row_grads.append(bool(padded.embed.weight.grad[0].any()))
print(f"padding row 0 gets a gradient: untied {padding_row_grads[0]}, tied {padding_row_grads[1]}")

# The assignment __init__ makes, done by hand: the Linear's own weight is no longer registered.
by_hand = TinyLanguageModel(vocab_size, d_model, tie_weights=False)
own_weight = by_hand.out.weight
by_hand.out.weight = by_hand.embed.weight
own_weight_dropped = all(p is not own_weight for p in by_hand.parameters())
print("after the assignment, the Linear's own weight is still registered:", not own_weight_dropped)

# A dtype change is a real conversion on any machine, also where device is the CPU.
dtypes = (torch.float16, torch.bfloat16, torch.float64)
converted = [tied_model().to(dtype) for dtype in dtypes]
tie_survives_conversion = all(m.out.weight is m.embed.weight for m in converted)
now_converted = [m.embed.weight.dtype for m in converted] == list(dtypes)
print("tied after .to(device):", still_tied, " after .to(float16, bfloat16, float64):", end=" ")
print(tie_survives_conversion)


# An initialization applied to every nn.Linear also writes into the tied embedding.
def zero_linear_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.weight)


initialized = TinyLanguageModel(vocab_size, d_model, tie_weights=True).apply(zero_linear_weights)
embedding_zeroed = bool(torch.all(initialized.embed.weight == 0))
print("zeroing every Linear's weight also zeroed the embedding:", embedding_zeroed)

# At the sizes of GPT-2 small the same tie removes tens of millions of numbers.
gpt2_vocab, gpt2_width = 50_257, 768
gpt2_saved = gpt2_vocab * gpt2_width
print(f"vocabulary {gpt2_vocab:,} x width {gpt2_width}: {gpt2_saved:,} numbers saved by tying")

embed_shape, out_shape = tuple(untied.embed.weight.shape), tuple(untied.out.weight.shape)
assert embed_shape == out_shape == (vocab_size, d_model)  # witness: same-layout
assert registered_on_out  # witness: assignment-registers
assert own_weight_dropped  # witness: own-weight-dropped
assert (untied_count, tied_count) == (1600 + 272 + 1600, 1600 + 272)
assert saved == vocab_size * d_model == 1600
assert still_tied  # a real move only where device is an accelerator
assert tie_survives_conversion and now_converted  # witness: conversion-keeps-tie
assert logits_shape == (2, 5, vocab_size)
assert untied_row_ids == token_ids and untied_rows < vocab_size  # witness: untied-rows-present-only
assert tied_rows == vocab_size  # witness: tied-every-row
assert output_rows == vocab_size  # witness: output-scores-every-token
assert padding_row_grads == [False, True]  # witness: tied-padding-row-trained
assert state_keys == "embed.weight, mix.0.weight, mix.0.bias, out.weight"
assert embedding_zeroed  # witness: init-writes-both
assert gpt2_saved == 38_597_376
if device.type == "cuda":  # a real move from the CPU: .data = kept the Parameter object
    moved_tied = kept_object_on_move and still_tied and tied.embed.weight.is_cuda
    assert moved_tied  # witness: cuda-move-keeps-parameter

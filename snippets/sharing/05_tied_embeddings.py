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
state_keys = ", ".join(tied.state_dict())
# A dtype change is a real conversion on any machine, also where device is the CPU.
converted = TinyLanguageModel(vocab_size, d_model, tie_weights=True).to(torch.float64)
tie_survives_conversion = converted.out.weight is converted.embed.weight
print("tied after .to(device):", still_tied, " after .to(torch.float64):", tie_survives_conversion)
print("logits shape:", logits_shape)
print(
    f"embedding rows with a gradient: untied {untied_rows}",
    f"(the {distinct_tokens} distinct input tokens), tied {tied_rows}",
)
print("state_dict keys:", state_keys)

# load_state_dict(assign=True) puts the checkpoint's tensors in place of the parameters, one per
# key: the two modules get separate Parameter objects, so the tie is gone.
reloaded = TinyLanguageModel(vocab_size, d_model, tie_weights=True)
reloaded.load_state_dict(tied.state_dict(), assign=True)
tied_after_assign = reloaded.out.weight is reloaded.embed.weight
count_after_assign = count(reloaded)
print(
    f"after load_state_dict(assign=True): tied {tied_after_assign}, {count_after_assign} parameters"
)

# At the sizes of GPT-2 small the same tie removes tens of millions of parameters.
gpt2_vocab, gpt2_width = 50_257, 768
gpt2_saved = gpt2_vocab * gpt2_width
print(f"vocabulary {gpt2_vocab:,} x width {gpt2_width}: {gpt2_saved:,} parameters saved by tying")

assert tuple(tied.embed.weight.shape) == tuple(untied.out.weight.shape) == (vocab_size, d_model)
assert (untied_count, tied_count) == (1600 + 272 + 1600, 1600 + 272)
assert saved == vocab_size * d_model == 1600
assert still_tied and tie_survives_conversion and logits_shape == (2, 5, vocab_size)
assert untied_rows == distinct_tokens < vocab_size == tied_rows
assert state_keys == "embed.weight, mix.0.weight, mix.0.bias, out.weight"
assert not tied_after_assign and count_after_assign == untied_count
assert gpt2_saved == 38_597_376

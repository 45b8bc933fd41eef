"""Tie a language model's input embedding to its output layer: one (vocab, d) matrix, two roles."""

import io

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


def storage_address(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


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
converted = tied_model().to(torch.float64)
tie_survives_conversion = converted.out.weight is converted.embed.weight
print("tied after .to(device):", still_tied, " after .to(torch.float64):", tie_survives_conversion)

# load_state_dict(assign=True) puts the checkpoint's values in place of the parameters. The
# values of state_dict() are plain tensors, because it detaches each entry, and a file keeps each
# value's type (plain tensor or Parameter). A plain tensor is wrapped in a new Parameter per
# key: two objects, counted twice, though both sit on the checkpoint's one storage.
live_values_plain = all(
    type(value) is torch.Tensor and not value.requires_grad for value in tied.state_dict().values()
)
buffer = io.BytesIO()
torch.save(tied.state_dict(), buffer)
checkpoint = torch.load(io.BytesIO(buffer.getvalue()))
plain_tensors = all(type(value) is torch.Tensor for value in checkpoint.values())
reloaded = tied_model()
before_assign = dict(reloaded.named_parameters(remove_duplicate=False))  # both names, one object
reloaded.load_state_dict(checkpoint, assign=True)
after_assign = dict(reloaded.named_parameters(remove_duplicate=False))
every_key_new = all(after_assign[name] is not old for name, old in before_assign.items())
tied_after_assign = reloaded.out.weight is reloaded.embed.weight
wrapped = all(isinstance(p, nn.Parameter) for p in (reloaded.out.weight, reloaded.embed.weight))
count_after_assign = count(reloaded)
two_weights_and_checkpoint = (reloaded.out.weight, reloaded.embed.weight, checkpoint["out.weight"])
memory_after_assign = {storage_address(t) for t in two_weights_and_checkpoint}
with torch.no_grad():
    reloaded.out.weight[0, 0] = 7.0  # write into one of the two Parameters ...
write_shows_in_other = reloaded.embed.weight[0, 0].item() == 7.0  # ... and read the other
print(
    f"after load_state_dict(assign=True): tied {tied_after_assign},",
    f"{count_after_assign} parameter elements,",
    f"{len(memory_after_assign)} storage for the two weights,",
    f"a write into out.weight shows in embed.weight: {write_shows_in_other}",
)
# A value that is already a Parameter (state_dict(keep_vars=True)) goes in as the same object,
# with its requires_grad set to the target's: here that freezes the source model's weight.
source = tied_model()
kept = tied_model().requires_grad_(False)
kept.load_state_dict(source.state_dict(keep_vars=True), assign=True)
keep_vars_keeps_tie = kept.out.weight is kept.embed.weight is source.embed.weight
source_frozen = not source.embed.weight.requires_grad
print(f"assign=True from state_dict(keep_vars=True): tied {keep_vars_keeps_tie},", end=" ")
print(f"the source model's weight frozen too: {source_frozen}")
# A live state_dict() holds detached tensors on the source model's own memory.
live = tied_model()
live.load_state_dict(tied.state_dict(), assign=True)
live_on_source_memory = storage_address(live.out.weight) == storage_address(tied.embed.weight)
with torch.no_grad():
    live.out.weight[0, 1] = 5.0  # a write into the loaded model ...
write_reaches_source = tied.embed.weight[0, 1].item() == 5.0  # ... lands in the source model
print(
    f"assign=True from a live state_dict(): tied {live.out.weight is live.embed.weight},",
    f"on the source model's memory {live_on_source_memory},",
    f"a write into it shows in the source model: {write_reaches_source}",
)
# A file keeps each value's type (plain tensor or Parameter): from keep_vars=True it gives back
# Parameters, one object under both keys, and assign=True keeps the tie, on the file's object.
kept_buffer = io.BytesIO()
torch.save(tied.state_dict(keep_vars=True), kept_buffer)
kept_checkpoint = torch.load(io.BytesIO(kept_buffer.getvalue()))
file_parameters = all(type(value) is nn.Parameter for value in kept_checkpoint.values())
saved_values = [*tied.state_dict().values(), *tied.state_dict(keep_vars=True).values()]
saved_types = [type(v) for v in saved_values]
loaded_types = [type(v) for v in [*checkpoint.values(), *kept_checkpoint.values()]]
file_one_object = kept_checkpoint["embed.weight"] is kept_checkpoint["out.weight"]
from_file = tied_model()
from_file.load_state_dict(kept_checkpoint, assign=True)
file_tie = from_file.out.weight is from_file.embed.weight is kept_checkpoint["out.weight"]
not_source = from_file.embed.weight is not tied.embed.weight
print(
    f"a file saved from state_dict(keep_vars=True) holds Parameters: {file_parameters};",
    f"after assign=True, tied {file_tie}",
)


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
assert tie_survives_conversion  # witness: conversion-keeps-tie
assert logits_shape == (2, 5, vocab_size)
assert untied_row_ids == token_ids and untied_rows < vocab_size  # witness: untied-rows-present-only
assert tied_rows == vocab_size  # witness: tied-every-row
assert output_rows == vocab_size  # witness: output-scores-every-token
assert padding_row_grads == [False, True]  # witness: tied-padding-row-trained
assert state_keys == "embed.weight, mix.0.weight, mix.0.bias, out.weight"
assert live_values_plain and plain_tensors  # witness: checkpoint-plain
# Every name of the model now holds a new Parameter, and no two names hold the same one.
new_parameter_per_key = every_key_new and wrapped and not tied_after_assign
assert new_parameter_per_key and count_after_assign == untied_count  # witness: assign-unties
assert len(memory_after_assign) == 1 and write_shows_in_other  # witness: assign-shares-memory
assert keep_vars_keeps_tie and count(kept) == tied_count  # witness: assign-keeps-parameter
assert source_frozen  # witness: assign-sets-requires-grad
both_types = {torch.Tensor, nn.Parameter} == set(loaded_types)
assert loaded_types == saved_types and both_types  # witness: file-keeps-type
file_keeps_tie = file_parameters and file_one_object and file_tie and not_source
assert file_keeps_tie  # witness: keep-vars-file-keeps-tie
live_untied = live.out.weight is not live.embed.weight and live.out.weight is not tied.embed.weight
assert live_untied  # witness: live-state-unties
assert live_on_source_memory and write_reaches_source  # witness: live-state-shares-source
assert embedding_zeroed  # witness: init-writes-both
assert gpt2_saved == 38_597_376
if device.type == "cuda":  # a real move from the CPU: .data = kept the Parameter object
    moved_tied = kept_object_on_move and still_tied and tied.embed.weight.is_cuda
    assert moved_tied  # witness: cuda-move-keeps-parameter

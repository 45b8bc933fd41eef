"""load_state_dict(assign=True) on a tied model: what the checkpoint's values do to the tie."""

import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TiedLanguageModel(nn.Module):
    """The tie of the first snippet, without the layers between."""

    def __init__(self, vocab_size: int = 100, d_model: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.out = nn.Linear(d_model, vocab_size, bias=False)
        self.out.weight = self.embed.weight


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def storage_address(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


def saved_and_loaded(state: dict) -> dict:
    """torch.save, then torch.load, as through a checkpoint file."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return torch.load(io.BytesIO(buffer.getvalue()))


tied = TiedLanguageModel().to(device)
tied_count = count(tied)

# The values of state_dict() are plain tensors, because it detaches each entry, and a file keeps
# each value's type (plain tensor or Parameter). A plain tensor is wrapped in a new Parameter per
# key: two objects, counted twice, though both read the same elements of the checkpoint.
live_values_plain = all(
    type(value) is torch.Tensor and not value.requires_grad for value in tied.state_dict().values()
)
checkpoint = saved_and_loaded(tied.state_dict())
plain_tensors = all(type(value) is torch.Tensor for value in checkpoint.values())
reloaded = TiedLanguageModel()
before_assign = dict(reloaded.named_parameters(remove_duplicate=False))  # both names, one object
reloaded.load_state_dict(checkpoint, assign=True)
after_assign = dict(reloaded.named_parameters(remove_duplicate=False))
every_key_new = all(after_assign[name] is not old for name, old in before_assign.items())
tied_after_assign = reloaded.out.weight is reloaded.embed.weight
wrapped = all(isinstance(p, nn.Parameter) for p in (reloaded.out.weight, reloaded.embed.weight))
count_after_assign = count(reloaded)
two_weights_and_checkpoint = (reloaded.out.weight, reloaded.embed.weight, checkpoint["out.weight"])
memory_after_assign = {storage_address(t) for t in two_weights_and_checkpoint}
# The same elements, not only the same storage: first address, shape and strides agree.
same_elements = len({(t.data_ptr(), t.shape, t.stride()) for t in two_weights_and_checkpoint}) == 1
with torch.no_grad():
    reloaded.out.weight[0, 0] = 7.0  # write into one of the two Parameters ...
write_shows_in_other = reloaded.embed.weight[0, 0].item() == 7.0  # ... and read the other
print(
    f"after load_state_dict(assign=True): tied {tied_after_assign},",
    f"{count_after_assign} parameter elements (tied: {tied_count}),",
    f"{len(memory_after_assign)} storage for the two weights,",
    f"a write into out.weight shows in embed.weight: {write_shows_in_other}",
)

# A value that is already a Parameter (state_dict(keep_vars=True)) goes in as the same object,
# with its requires_grad set to the target's: here that freezes the source model's weight.
source = TiedLanguageModel()
kept = TiedLanguageModel().requires_grad_(False)
kept.load_state_dict(source.state_dict(keep_vars=True), assign=True)
keep_vars_keeps_tie = kept.out.weight is kept.embed.weight is source.embed.weight
source_frozen = not source.embed.weight.requires_grad
print(f"assign=True from state_dict(keep_vars=True): tied {keep_vars_keeps_tie},", end=" ")
print(f"the source model's weight frozen too: {source_frozen}")

# A file keeps each value's type: from keep_vars=True it gives back Parameters, one object under
# both keys, and assign=True keeps the tie, on the file's object.
kept_checkpoint = saved_and_loaded(tied.state_dict(keep_vars=True))
file_parameters = all(type(value) is nn.Parameter for value in kept_checkpoint.values())
saved_values = [*tied.state_dict().values(), *tied.state_dict(keep_vars=True).values()]
saved_types = [type(v) for v in saved_values]
loaded_types = [type(v) for v in [*checkpoint.values(), *kept_checkpoint.values()]]
file_one_object = kept_checkpoint["embed.weight"] is kept_checkpoint["out.weight"]
from_file = TiedLanguageModel()
from_file.load_state_dict(kept_checkpoint, assign=True)
file_tie = from_file.out.weight is from_file.embed.weight is kept_checkpoint["out.weight"]
not_source = from_file.embed.weight is not tied.embed.weight
print(
    f"a file saved from state_dict(keep_vars=True) holds Parameters: {file_parameters};",
    f"after assign=True, tied {file_tie}",
)

# A live state_dict() holds detached tensors on the source model's own memory.
live = TiedLanguageModel()
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

assert tied_count == 1600 and count_after_assign == 2 * tied_count
assert live_values_plain and plain_tensors  # witness: checkpoint-plain
# Every name of the model now holds a new Parameter, and no two names hold the same one.
new_parameter_per_key = every_key_new and wrapped and not tied_after_assign
swap_off = not torch.__future__.get_swap_module_params_on_conversion()  # its default
assert new_parameter_per_key and count_after_assign == 3200 and swap_off  # witness: assign-unties
shares_elements = len(memory_after_assign) == 1 and same_elements and write_shows_in_other
assert shares_elements  # witness: assign-shares-memory
assert keep_vars_keeps_tie and count(kept) == tied_count  # witness: assign-keeps-parameter
assert source_frozen  # witness: assign-sets-requires-grad
both_types = {torch.Tensor, nn.Parameter} == set(loaded_types)
assert loaded_types == saved_types and both_types  # witness: file-keeps-type
file_keeps_tie = file_parameters and file_one_object and file_tie and not_source
assert file_keeps_tie  # witness: keep-vars-file-keeps-tie
live_untied = live.out.weight is not live.embed.weight and live.out.weight is not tied.embed.weight
assert live_untied  # witness: live-state-unties
assert live_on_source_memory and write_reaches_source  # witness: live-state-shares-source

"""Exercise: convert a tied model's torch.save checkpoint to safetensors, with no model at hand."""

import io
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int = 100, d_model: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


torch.manual_seed(0)
model = TinyLM()
old_file = io.BytesIO()
torch.save(model.state_dict(), old_file)  # what we were given


def convert(state: dict, path: Path) -> None:
    """Write each storage once; record every other name for it in the metadata."""
    first_name, kept, aliases = {}, {}, {}  # first_name: storage address -> first name seen
    for name in sorted(state):
        if state[name].numel() == 0:  # no bytes to share: keep it, and leave its address alone
            kept[name] = state[name]
            continue
        address = state[name].untyped_storage().data_ptr()
        if address in first_name:
            aliases[name] = first_name[address]
        else:
            first_name[address] = name
            kept[name] = state[name]
    save_file(kept, path, metadata={"format": "pt", **aliases})


def load_converted(path: Path) -> dict:
    state = load_file(path)
    with safe_open(path, framework="pt") as file:
        for alias, name in (file.metadata() or {}).items():
            if alias != "format":  # the framework, "pt"; every other entry is an alias
                state[alias] = state[name]  # the same tensor under both names
    return state


old_file.seek(0)
state = torch.load(old_file)  # torch.load rebuilds the sharing between the two entries
shared_on_load = (
    state["head.weight"].untyped_storage().data_ptr()
    == state["embed.weight"].untyped_storage().data_ptr()
)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "tiny-lm.safetensors"
    convert(state, path)
    with safe_open(path, framework="pt") as file:
        stored = file.keys()
        metadata = dict(sorted(file.metadata().items()))  # sorted: the order in the file varies
    restored = TinyLM()
    result = restored.load_state_dict(load_converted(path))  # strict: every name is there
    from_copies = TinyLM()  # from two separate copies
    from_copies.load_state_dict({name: t.clone() for name, t in state.items()})
    weight = state["embed.weight"]  # empty tensors: two new ones, and views of the tied weight
    empties = {"a.bias": torch.empty(0), "b.weight": torch.empty(3, 0), "c.empty": weight[:0]}
    empties |= {"d.weight": weight, "e.weight": weight, "f.empty": weight[:, :0]}
    convert(empties, Path(folder) / "empty.safetensors")
    from_empties = load_converted(Path(folder) / "empty.safetensors")
    empty_shapes = {name: tuple(from_empties[name].shape) for name in sorted(from_empties)}

tokens = torch.randint(0, 100, (2, 5))
with torch.no_grad():
    same_outputs = torch.equal(model(tokens), restored(tokens))
    copies_agree = torch.equal(model(tokens), from_copies(tokens))
tied = restored.head.weight is restored.embed.weight
tied_by_code = from_copies.head.weight is from_copies.embed.weight and copies_agree
print("stored:", stored, "| metadata:", metadata)
print("strict load:", result, "| tied:", tied)
print("same outputs:", same_outputs, "| tied from two copies, same outputs:", tied_by_code)
print("empty tensors and the tied weight, converted and loaded:", empty_shapes)

assert shared_on_load  # witness: loaded-shared
assert stored == ["embed.weight"] and metadata == {  # witness: once
    "format": "pt",
    "head.weight": "embed.weight",
}
assert result.missing_keys == [] and result.unexpected_keys == []  # witness: strict-load
assert tied and same_outputs and tied_by_code  # witness: stays-tied
assert (  # witness: empty-not-aliased
    empties["a.bias"].untyped_storage().data_ptr() == 0
    and empties["b.weight"].untyped_storage().data_ptr() == 0
    and empties["c.empty"].untyped_storage().data_ptr() == weight.untyped_storage().data_ptr() != 0
    and empty_shapes
    == {
        "a.bias": (0,),
        "b.weight": (3, 0),
        "c.empty": (0, 16),
        "d.weight": (100, 16),
        "e.weight": (100, 16),
        "f.empty": (100, 0),
    }
)

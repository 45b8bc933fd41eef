"""A model whose embedding and output layer share one weight, saved with safetensors."""

import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int = 100, d_model: int = 16, tie: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        if tie:
            self.head.weight = self.embed.weight  # one Parameter, registered twice

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


torch.manual_seed(0)
model = TinyLM().to(device)
tokens = torch.randint(0, 100, (2, 5)).to(device)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "tiny-lm.safetensors"
    try:  # two keys on one memory: save_file refuses
        save_file(model.state_dict(), path)
        share_error = "saved"
    except RuntimeError as error:
        share_error = str(error).strip()
    print("save_file:", share_error.split(":")[0], "...")  # then the names, in any order

    passed = {"format": "pt"}
    save_model(model, path, metadata=passed)  # notes the dropped name in the metadata
    with safe_open(path, framework="pt") as file:
        keys_in_file = file.keys()
        header = dict(sorted(file.metadata().items()))  # sorted: the order in the file varies
    print("in the file:", keys_in_file, "| metadata:", header)
    # The name kept is the first in sorted order, not the first registered.
    out_first = nn.Module()
    out_first.out = nn.Linear(16, 100, bias=False)  # registered first; its weight is shared
    out_first.embed = nn.Embedding(100, 16)
    out_first.embed.weight = out_first.out.weight
    save_model(out_first, Path(folder) / "out-first.safetensors")
    with safe_open(Path(folder) / "out-first.safetensors", framework="pt") as file:
        out_first_keys = file.keys()
        out_first_metadata = file.metadata()  # saved with no metadata argument
    print("out registered first:", list(out_first.state_dict()), "| in the file:", out_first_keys)
    print("  its metadata, none passed:", out_first_metadata)
    # Only a name whose tensor covers all of the shared memory can be kept, first in order or not.
    views = nn.Module()
    memory = torch.zeros(10, 4)
    views.register_buffer("a_half", memory[:5])  # first in sorted order, on half the memory
    views.register_buffer("b_whole", memory)
    views.register_buffer("c_whole", memory)
    save_model(views, Path(folder) / "views.safetensors", metadata={"format": "pt"})
    with safe_open(Path(folder) / "views.safetensors", framework="pt") as file:
        views_keys = file.keys()
    print("a_half, b_whole and c_whole on one memory: in the file:", views_keys)

    restored = TinyLM().to(device)  # the model's own code ties the two weights
    missing, unexpected = load_model(restored, path, device=str(device))
    still_tied = restored.head.weight is restored.embed.weight
    with torch.no_grad():
        same_outputs = torch.equal(model(tokens), restored(tokens))
    print("restored: tied:", still_tied, "| same outputs:", same_outputs)

    try:  # a model that does not tie the weights finds a name missing
        load_model(TinyLM(tie=False).to(device), path, device=str(device))
        untied_result = "loaded"
    except RuntimeError as error:
        untied_result = str(error)
    print("into an untied model:", untied_result.replace("\n", " "))

    # assign=True replaces only the parameters the dict names: the tie is lost.
    with torch.device("meta"):  # a model with no memory, to be given the file's tensors
        assigned = TinyLM()
    meta_weight = assigned.head.weight  # one Parameter on meta, under both names
    from_file = load_file(path)  # embed.weight only: save_model dropped head.weight
    assign_result = assigned.load_state_dict(from_file, assign=True, strict=False)
    devices = {name: str(weight.device) for name, weight in assigned.state_dict().items()}
    print("assign=True into a meta model: missing", assign_result.missing_keys, "|", devices)

    # Even a dict that holds one tensor under both names gives two Parameters, on one memory.
    both_names = load_file(path)
    both_names["head.weight"] = both_names["embed.weight"]
    with torch.device("meta"):
        half_tied = TinyLM()
    half_tied.load_state_dict(both_names, assign=True)  # strict: both names are there
    one_parameter = half_tied.head.weight is half_tied.embed.weight
    one_memory = half_tied.head.weight.data_ptr() == half_tied.embed.weight.data_ptr()
    print("assign=True, one tensor under both names: one Parameter:", one_parameter, end=" ")
    print("| one memory:", one_memory, "| parameters():", len(list(half_tied.parameters())))
    shared = nn.Parameter(both_names["embed.weight"])  # one Parameter under both names instead
    with torch.device("meta"):
        param_tied = TinyLM()
    param_tied.load_state_dict({"embed.weight": shared, "head.weight": shared}, assign=True)
    print("assign=True, one Parameter under both names: tied:", end=" ")
    print(param_tied.head.weight is param_tied.embed.weight)

assert share_error.startswith("Some tensors share memory")  # witness: save-file-refuses
assert keys_in_file == ["embed.weight"]  # witness: stored-once
assert header == {"format": "pt", "head.weight": "embed.weight"}  # witness: alias-in-metadata
assert passed == {"format": "pt", "head.weight": "embed.weight"}  # witness: metadata-arg-changed
assert out_first_metadata == {"out.weight": "embed.weight"}  # witness: metadata-without-format
assert (  # witness: alphabetical-name
    list(out_first.state_dict()) == ["out.weight", "embed.weight"]
    and out_first_keys == ["embed.weight"]
    and views_keys == ["b_whole"]
)
assert not missing and not unexpected
assert still_tied  # witness: tie-restored
assert same_outputs  # witness: same-outputs
assert 'Missing key(s) in state_dict: "head.weight"' in untied_result  # witness: tie-from-code
assert (  # witness: assign-unties
    assign_result.missing_keys == ["head.weight"]
    and assigned.head.weight is meta_weight  # not in the dict: left as it was
    and assigned.embed.weight is not meta_weight  # in the dict: replaced
    and meta_weight.is_meta
    and not assigned.embed.weight.is_meta
)
plain_tensors = not any(isinstance(tensor, nn.Parameter) for tensor in both_names.values())
assert (  # witness: assign-half-ties
    both_names["head.weight"] is both_names["embed.weight"]
    and plain_tensors
    and not one_parameter
    and one_memory
    and len(list(half_tied.parameters())) == 2
    and param_tied.head.weight is param_tied.embed.weight is shared
)

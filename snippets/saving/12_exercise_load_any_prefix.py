"""Exercise: load a state_dict saved from a plain, a DataParallel or a compiled model."""

import torch
from torch import nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

WRAPPER_PREFIXES = (
    "module.",
    "_orig_mod.",
)  # nn.DataParallel / DistributedDataParallel, torch.compile


def strip_wrapper_prefixes(state_dict: dict, model: nn.Module) -> None:
    """Remove wrapper prefixes in place, in whatever order they were stacked, until the keys fit."""
    while set(state_dict) != set(model.state_dict()):
        first_key = next(iter(state_dict), "")
        prefix = next((p for p in WRAPPER_PREFIXES if first_key.startswith(p)), None)
        if prefix is None:
            return
        consume_prefix_in_state_dict_if_present(state_dict, prefix)


def make_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


torch.manual_seed(0)
source = make_model()
expected = [value.clone() for value in source.state_dict().values()]
checkpoints = {
    "plain": source.state_dict(),
    "DataParallel": nn.DataParallel(source).state_dict(),  # with one GPU, this moves source onto it
    "DataParallel(compile)": nn.DataParallel(torch.compile(source)).state_dict(),
    "compile(DataParallel)": torch.compile(nn.DataParallel(source)).state_dict(),
}

first_keys = []
loaded_all = True
for name, state in checkpoints.items():
    first_key = next(iter(state))
    first_keys.append(first_key)
    target = make_model()
    strip_wrapper_prefixes(state, target)
    target.load_state_dict(state)  # strict: anything left over would be a real mismatch
    loaded = all(torch.equal(a, b) for a, b in zip(target.state_dict().values(), expected))
    loaded_all = loaded_all and loaded
    print(f"{name:22} first key {first_key!r:30} -> {next(iter(state))!r:11} loaded: {loaded}")

# A model that really differs still fails: the final load_state_dict stays strict.
other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 1))
state = nn.DataParallel(make_model()).state_dict()
strip_wrapper_prefixes(state, other)
try:
    other.load_state_dict(state)
    mismatch = "loaded"
except RuntimeError as error:
    mismatch = str(error).splitlines()[1].strip()
print("a different model:", mismatch)


class WithModuleChild(nn.Module):  # a plain model whose first child is named "module"
    def __init__(self) -> None:
        super().__init__()
        self.module = nn.Linear(4, 8)
        self.head = nn.Linear(8, 3)


child_results = []
for state in (WithModuleChild().state_dict(), nn.DataParallel(WithModuleChild()).state_dict()):
    target = WithModuleChild()
    strip_wrapper_prefixes(state, target)  # "module.module.weight" loses one prefix, not two
    child_results.append(str(target.load_state_dict(state)))
print("a child named module, plain and in DataParallel:", child_results)

assert first_keys == [
    "0.weight",
    "module.0.weight",
    "module._orig_mod.0.weight",
    "_orig_mod.module.0.weight",
]
assert loaded_all
assert mismatch.startswith("Missing key(s)")  # witness: still-strict
assert child_results == ["<All keys matched successfully>"] * 2  # witness: child-named-module
assert all(
    list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"] for state in checkpoints.values()
)

"""Exercise: load a state_dict saved from a plain, a DataParallel or a compiled model."""

import torch
from torch import nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

WRAPPER_PREFIXES = (
    "module.",
    "_orig_mod.",
)  # nn.DataParallel / DistributedDataParallel, torch.compile


def shared_prefix(keys: list[str]) -> str | None:
    """The wrapper prefix that every key starts with, if there is one."""
    return next((p for p in WRAPPER_PREFIXES if keys and all(k.startswith(p) for k in keys)), None)


def strip_wrapper_prefixes(state_dict: dict, model: nn.Module) -> None:
    """Remove wrapper prefixes in place, in whatever order they were stacked: peel off prefixes
    that every key shares, and keep the stage whose keys match the most of the model's."""
    wanted = set(model.state_dict())
    keys, peeled, best = list(state_dict), [], []
    most = len(wanted.intersection(keys))
    while (prefix := shared_prefix(keys)) is not None:
        keys = [key.removeprefix(prefix) for key in keys]
        peeled.append(prefix)
        if len(wanted.intersection(keys)) > most:
            most, best = len(wanted.intersection(keys)), list(peeled)
    for prefix in best:
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
# A real mismatch in such a model: the keys stay as saved, so the error names the right one.
child_state = WithModuleChild().state_dict()
del child_state["head.bias"]
strip_wrapper_prefixes(child_state, WithModuleChild())  # keys kept: not every one has "module."
try:
    WithModuleChild().load_state_dict(child_state)
    child_mismatch = "loaded"
except RuntimeError as error:
    child_mismatch = str(error).splitlines()[1].strip()
print("a child named module, head.bias missing:", child_mismatch)


class OnlyModuleChild(nn.Module):  # its only child is named "module": every key has "module."
    def __init__(self) -> None:
        super().__init__()
        self.module = nn.Linear(4, 8)


# Stripping that shared prefix would make fewer keys match the model's, so it is kept.
only_state = OnlyModuleChild().state_dict()
strip_wrapper_prefixes(only_state, OnlyModuleChild())
only_result = str(OnlyModuleChild().load_state_dict(only_state))
only_kept = list(only_state) == ["module.weight", "module.bias"]
del only_state["module.bias"]
strip_wrapper_prefixes(only_state, OnlyModuleChild())
try:
    OnlyModuleChild().load_state_dict(only_state)
    only_mismatch = "loaded"
except RuntimeError as error:
    only_mismatch = str(error).splitlines()[1].strip()
print("only a child named module:", only_result, "| module.bias missing:", only_mismatch)

assert first_keys == [
    "0.weight",
    "module.0.weight",
    "module._orig_mod.0.weight",
    "_orig_mod.module.0.weight",
]
assert loaded_all
assert mismatch.startswith("Missing key(s)")  # witness: still-strict
assert child_results == ["<All keys matched successfully>"] * 2  # witness: child-named-module
named_right = child_mismatch == 'Missing key(s) in state_dict: "head.bias".'
kept_as_saved = list(child_state) == ["module.weight", "module.bias", "head.weight"]
assert named_right and kept_as_saved  # witness: names-real-mismatch
only_named_right = only_mismatch == 'Missing key(s) in state_dict: "module.bias".'
only_loaded = only_result == "<All keys matched successfully>" and only_kept
assert only_loaded and only_named_right  # witness: strips-only-if-more-match
assert all(
    list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"] for state in checkpoints.values()
)

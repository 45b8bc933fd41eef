"""nn.ModuleDict: modules chosen by name, here one output head per task."""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


# --8<-- [start:class]
class MultiTask(nn.Module):
    def __init__(self, d_in: int, width: int, classes: dict[str, int]) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_in, width), nn.ReLU())
        self.heads = nn.ModuleDict({task: nn.Linear(width, n) for task, n in classes.items()})

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        return self.heads[task](self.trunk(x))


# --8<-- [end:class]
torch.manual_seed(0)
model = MultiTask(8, 16, {"sentiment": 3, "topic": 5}).to(device)
X = torch.randn(2, 8).to(device)
sentiment_shape = tuple(model(X, "sentiment").shape)
topic_shape = tuple(model(X, "topic").shape)
tasks = ", ".join(model.heads)  # keys, in insertion order
head_names = ", ".join(name for name, _ in model.named_parameters() if name.startswith("heads"))
parameter_count = sum(p.numel() for p in model.parameters())
print(
    f"tasks: {tasks}; output shapes {sentiment_shape} and {topic_shape};",
    f"{parameter_count} parameters",
)
print("head parameters:", head_names)

# Keys become attribute names, so three kinds of key are refused.
try:
    nn.ModuleDict({"": nn.Linear(16, 2)})
except KeyError as error:
    error_name, empty_message = type(error).__name__, error.args[0]
    print(f"{error_name}: {empty_message}")
try:
    nn.ModuleDict({"v1.2": nn.Linear(16, 2)})
except KeyError as error:
    dot_message = error.args[0]
    print(f"{type(error).__name__}: {dot_message}")
try:
    nn.ModuleDict({"type": nn.Linear(16, 2)})  # clashes with the method Module.type()
except KeyError as error:
    clash_message = error.args[0]
    print(f"{type(error).__name__}: {clash_message}")
# Every name a ModuleDict already has is taken: Module methods, and its own dict-like methods.
taken = []
dict_methods = ("keys", "items", "values", "update", "pop", "clear")
for key in ("train", "eval", "forward", "float", *dict_methods):
    try:
        nn.ModuleDict({key: nn.Linear(16, 2)})
    except KeyError:
        taken.append(key)
taken_keys = ", ".join(taken)
print("also refused:", taken_keys)
# A key that is already an entry is not refused: assigning to it replaces the entry.
replaceable = nn.ModuleDict({"head": nn.Linear(16, 2)})
replaceable["head"] = nn.Linear(16, 3)
print("after replaceable['head'] = nn.Linear(16, 3):", dict(replaceable.named_children()))

assert sentiment_shape == (2, 3) and topic_shape == (2, 5)
assert tasks == "sentiment, topic"
unsorted = list(nn.ModuleDict({"topic": nn.ReLU(), "sentiment": nn.ReLU()}))  # not sorted
assert unsorted == ["topic", "sentiment"]  # witness: insertion-order
assert (
    head_names
    == "heads.sentiment.weight, heads.sentiment.bias, heads.topic.weight, heads.topic.bias"
)
assert parameter_count == (8 * 16 + 16) + (16 * 3 + 3) + (16 * 5 + 5) == 280
assert error_name == "KeyError" and empty_message.startswith("module name can't be empty")
assert dot_message.startswith('module name can\'t contain "."')
assert clash_message == "attribute 'type' already exists"
expected_taken = "train, eval, forward, float, keys, items, values, update, pop, clear"
assert taken_keys == expected_taken  # witness: taken
assert len(replaceable) == 1 and replaceable["head"].out_features == 3  # witness: entry-replaced

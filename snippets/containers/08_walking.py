"""Walking the module tree: named_children, named_modules, get_submodule and apply."""

from collections import Counter

from torch import nn


class MultiTask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.heads = nn.ModuleDict({"sentiment": nn.Linear(16, 3), "topic": nn.Linear(16, 5)})


model = MultiTask()
children = ", ".join(name for name, _ in model.named_children())
module_names = [name for name, _ in model.named_modules()]
print("named_children:", children)
print("named_modules: ", module_names)
module_count = len(module_names)
root_name = repr(module_names[0])

topic = model.get_submodule("heads.topic")
topic_is_head = topic is model.heads["topic"]
print("get_submodule('heads.topic') is model.heads['topic']:", topic_is_head)

# apply(fn) calls fn on every module, children first, the root last.
visited_modules = []
model.apply(visited_modules.append)
visited = [type(module).__name__ for module in visited_modules]
apply_last = visited[-1]
position = {id(module): index for index, module in enumerate(visited_modules)}
children_first = all(
    position[id(child)] < position[id(parent)]
    for parent in model.modules()
    for child in parent.children()
)
print("apply visits:", visited)
linear_count = sum(isinstance(m, nn.Linear) for m in model.modules())

# A module registered twice is listed once.
shared = nn.Linear(4, 4)
twice = nn.Sequential(shared, nn.ReLU(), shared)
listed_once = len(list(twice.modules()))
listed_all = len(list(twice.named_modules(remove_duplicate=False)))
parameters_once = len(list(twice.parameters()))  # weight and bias of shared, once
parameters_all = len(list(twice.named_parameters(remove_duplicate=False)))
print(
    f"Sequential(shared, ReLU(), shared): {listed_once} modules listed,",
    f"{listed_all} with remove_duplicate=False;",
    f"parameter tensors: {parameters_once}, or {parameters_all}",
)


# apply(fn) recurses through each parent's children(), which drops a duplicate within that
# parent only. So fn runs on a module once each time apply reaches one of its parents.
def apply_counts(root: nn.Module) -> Counter:
    calls = Counter()
    root.apply(lambda module: calls.update([id(module)]))
    return calls


def counts_follow_parents(root: nn.Module) -> bool:
    """Is each module's count the sum of its parents' counts, each parent taken once?"""
    calls, expected = apply_counts(root), Counter({id(root): 1})
    for parent in root.modules():
        for child in parent.children():  # a child held twice by this parent comes once
            expected[id(child)] += calls[id(parent)]
    return calls == expected


two_parents = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))
listed_two_parents = sum(module is shared for module in two_parents.modules())
calls_one_parent = apply_counts(twice)[id(shared)]
calls_two_parents = apply_counts(two_parents)[id(shared)]
# A shared block: the Linear inside it has one parent, the block, which apply reaches twice.
inner = nn.Linear(4, 4)
block = nn.Sequential(inner, nn.ReLU())
nested = nn.Sequential(nn.Sequential(block), nn.Sequential(block))
inner_parents = sum(any(child is inner for child in m.children()) for m in nested.modules())
inner_calls = apply_counts(nested)[id(inner)]
rule_holds = all(counts_follow_parents(root) for root in (model, twice, two_parents, nested))
print(
    f"apply(fn) calls fn on the shared layer {calls_one_parent} time(s) with one parent,",
    f"{calls_two_parents} with two; modules() lists it {listed_two_parents} time(s) there",
)
print(
    f"in a block held by two parents, the inner Linear has {inner_parents} parent,",
    f"and apply calls fn on it {inner_calls} times",
)

assert children == "trunk, heads"
assert module_names == [
    "",
    "trunk",
    "trunk.0",
    "trunk.1",
    "heads",
    "heads.sentiment",
    "heads.topic",
]
assert module_count == 7 and root_name == "''"
assert topic_is_head
assert visited == ["Linear", "ReLU", "Sequential", "Linear", "Linear", "ModuleDict", "MultiTask"]
assert children_first and apply_last == "MultiTask"  # witness: apply-children-first
assert linear_count == 3
assert (listed_once, listed_all, listed_two_parents) == (3, 4, 1)  # witness: modules-once
counts = (calls_one_parent, calls_two_parents, inner_parents, inner_calls)
assert rule_holds and counts == (1, 2, 1, 2)  # witness: apply-follows-parents
assert (parameters_once, parameters_all) == (2, 4)  # witness: parameters-once

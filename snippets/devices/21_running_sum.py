"""What a running sum of losses that are not detached holds on to, with and without backward."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def graph_size(tensor: torch.Tensor) -> int:
    """The number of autograd nodes reachable from the tensor: the graph it keeps."""
    seen, todo = set(), [tensor.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(next_node for next_node, _ in node.next_functions)
    return len(seen)


def running_sum(train: bool) -> tuple[torch.Tensor, list[int]]:
    total, sizes = torch.zeros(()), []
    for _ in range(3):
        loss = model(torch.randn(4, 8)).pow(2).mean()
        if train:  # a training step: backward frees the tensors this step's graph saved
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total = total + loss  # not detached: the sum joins this step's graph
        sizes.append(graph_size(total))
    return total, sizes


def saved_tensors_of(total: torch.Tensor) -> str:
    """Whether the graph behind the sum still holds what its backward needs."""
    try:
        torch.autograd.grad(total, list(model.parameters()))  # computes, stores no .grad
        return "all held"
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}".split(". ")[0]  # its first sentence


def held_and_freed(total: torch.Tensor) -> tuple[int, int]:
    """How many tensors saved for backward each node behind the sum still holds, and has freed."""
    held = freed = 0
    seen, stack = set(), [total.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in (name for name in dir(node) if name.startswith("_saved_")):
            try:
                held += isinstance(getattr(node, name), torch.Tensor)
            except RuntimeError as error:  # freed by a backward pass, or changed in place since
                freed += "freed" in str(error)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return held, freed


trained, trained_sizes = running_sum(train=True)
validated, validated_sizes = running_sum(train=False)  # as a validation loop without no_grad()
# Counted first: the check below runs backward through the graph, which frees what it passes.
(trained_held, trained_freed), (validated_held, validated_freed) = map(
    held_and_freed, (trained, validated)
)
trained_saved, validated_saved = saved_tensors_of(trained), saved_tensors_of(validated)
print("graph size after each step, training:", trained_sizes, "| validation:", validated_sizes)
print("training, saved tensors:", trained_saved)
print(f"  over every step's graph: {trained_held} held, {trained_freed} freed")
print("validation, saved tensors:", validated_saved)
print(f"  over every step's graph: {validated_held} held, {validated_freed} freed")

assert trained_sizes[0] < trained_sizes[1] < trained_sizes[2]  # witness: sum-graph-grows
every_step_freed = "been freed" in trained_saved and trained_held == 0 < trained_freed
assert every_step_freed  # witness: backward-freed-them
every_step_kept = validated_saved == "all held" and validated_freed == 0 < validated_held
assert every_step_kept  # witness: validation-keeps-all

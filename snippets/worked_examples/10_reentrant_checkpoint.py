"""The tied layer again, one of its uses under a checkpoint: reentrant, and not."""

import warnings

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def backward_through_checkpoint(
    use_reentrant: bool,
    wrapped: str,
    pass_w: bool = False,
    from_module: bool = False,
    in_list: bool = False,
    bias: float | None = None,
) -> dict:
    """y_hat = w * (w * x), its first or second use checkpointed; return what the hooks on w saw.
    With pass_w, w is also passed to the checkpoint as an argument (in_list: inside a list); with
    from_module, the use still reads w from the module. With bias, the two parts differ."""
    layer = nn.Linear(1, 1, bias=bias is not None).to(device)
    with torch.no_grad():
        layer.weight.fill_(3.0)
        if bias is not None:
            layer.bias.fill_(bias)
    x = torch.tensor([[2.0]], device=device)  # an input: it does not require grad
    target = torch.tensor([[10.0]], device=device)
    hook_calls, writes_to_grad = [], []
    layer.weight.register_hook(lambda grad: hook_calls.append(grad.item()))
    layer.weight.register_post_accumulate_grad_hook(lambda p: writes_to_grad.append(p.grad.item()))
    grad_modes = []  # at each run of the wrapped use: was grad mode on, so that a graph is built?
    got_w_itself = []  # at each run with w passed in: did the use get w, or another tensor?
    on_w_memory = []  # and was that tensor a leaf on w's memory (w itself, or a detached alias)?

    def use(inputs: torch.Tensor, weight: torch.Tensor | list | None = None) -> torch.Tensor:
        grad_modes.append(torch.is_grad_enabled())
        if in_list:
            weight = weight[0]  # w, from inside the list
        if weight is not None:
            got_w_itself.append(weight is layer.weight)
            on_w_memory.append(
                weight.data_ptr() == layer.weight.data_ptr() and weight.grad_fn is None
            )
        if weight is None or from_module:  # w reaches the use through the module
            return layer(inputs)
        return nn.functional.linear(inputs, weight)  # the same use, computed from the argument

    # The checkpoint keeps no graph for its use, and runs the layer again during backward.
    with warnings.catch_warnings(record=True) as caught:  # the filters are restored afterwards
        warnings.simplefilter("always")
        if wrapped == "second":  # the checkpoint's input is h, which requires grad
            hidden = checkpoint_input = layer(x)
            passed_w = [layer.weight] if in_list else layer.weight
            arguments = (hidden, passed_w) if pass_w else (hidden,)
            y_hat = checkpoint_output = checkpoint(use, *arguments, use_reentrant=use_reentrant)
        else:  # the checkpoint's input is x, which does not
            checkpoint_input = x
            hidden = checkpoint_output = checkpoint(use, x, use_reentrant=use_reentrant)
            y_hat = layer(hidden)
        (y_hat - target).pow(2).sum().backward()
    passed = " (w passed in)" if pass_w else ""
    if from_module:
        passed = " (w passed in, but read from the module)"
    if in_list:
        passed = " (w passed in a list)"
    if bias is not None:
        passed = f" (bias {bias})"
    print(f"use_reentrant={use_reentrant!s:5}, {wrapped:6} use wrapped{passed}: ", end="")
    print(f"hook on w called with {hook_calls}, .grad holds {writes_to_grad} after each write")
    node = checkpoint_output.grad_fn  # the checkpoint's node in the outer graph, if any
    edges = [next_node for next_node, _ in node.next_functions] if node else []
    return {
        "hook_calls": hook_calls,
        "writes": writes_to_grad,
        "grad": layer.weight.grad.item(),
        "input_requires_grad": checkpoint_input.requires_grad,
        "output_has_graph": node is not None,
        "grad_modes": grad_modes,
        "got_w_itself": got_w_itself,
        "on_w_memory": on_w_memory,
        "edges": edges,  # the nodes the checkpoint's node leads to, in the outer graph
        "input_node": checkpoint_input.grad_fn,
        "edge_to_w": any(getattr(n, "variable", None) is layer.weight for n in edges),
        "warnings": [str(warning.message) for warning in caught],
    }


# Reentrant: the wrapped use runs without a graph. During backward it runs again with a graph of
# its own, and a backward of its own runs on that graph, inside the outer one. Around the second
# use, that nested backward writes the second use's part (96) into .grad first.
reentrant = backward_through_checkpoint(use_reentrant=True, wrapped="second")
first_write, second_write = reentrant["writes"]
first_use_part = second_write - first_write  # the outer pass's part, added to the nested one
# With a bias of 1 the parts differ (144 for the first use, 168 for the second): the first write
# is the second use's part.
biased = backward_through_checkpoint(use_reentrant=True, wrapped="second", bias=1.0)
biased_first_write = biased["writes"][0]
print("  grad mode on in the wrapped use's runs (forward, then backward):", reentrant["grad_modes"])
# The checkpoint is an autograd.Function: the outer graph links it only to its tensor arguments.
# Pass w as one, and the nested backward hands its part back along that edge to the outer pass.
w_passed = backward_through_checkpoint(use_reentrant=True, wrapped="second", pass_w=True)
# It reruns the use on detached aliases of its arguments and hands back their gradients: a use
# that still reads w from the module gives the alias no gradient, and writes into .grad twice.
w_unused = backward_through_checkpoint(True, "second", pass_w=True, from_module=True)
# A tensor inside a list is neither linked nor aliased: the use gets w itself, as from the module.
w_in_list = backward_through_checkpoint(True, "second", pass_w=True, in_list=True)
# Around the first use, the checkpoint's only tensor input is x. Its output then has no graph, the
# backward pass never reaches the checkpoint, and the first use's part is lost: PyTorch only warns.
first_lost = backward_through_checkpoint(use_reentrant=True, wrapped="first")
first_use_wrapped_grad = first_lost["grad"]
biased_lost = backward_through_checkpoint(use_reentrant=True, wrapped="first", bias=1.0)
biased_lost_grad = biased_lost["grad"]
NO_GRAD_WARNING = "None of the inputs have requires_grad=True"
warned = [w for w in first_lost["warnings"] if w.startswith(NO_GRAD_WARNING)]
print("warning:", *warned)
# Not reentrant: the wrapped use stays in the outer graph (only the tensors its backward needs are
# recomputed), so the two parts meet before .grad, as without a checkpoint, whichever use it wraps.
non_reentrant = [backward_through_checkpoint(False, wrapped) for wrapped in ("second", "first")]

only_to_input = reentrant["edges"] == [reentrant["input_node"]]  # no edge to w
grad_off_yet_edge = w_passed["grad_modes"] == [False, True] and w_passed["edge_to_w"]
assert only_to_input and grad_off_yet_edge  # witness: edges-from-arguments
assert reentrant["grad_modes"] == [False, True]  # witness: reruns-with-graph
assert w_passed["hook_calls"] == [192] and w_passed["writes"] == [192]  # witness: w-passed-once
aliases_only = w_passed["got_w_itself"] == w_unused["got_w_itself"] == [True, False]
aliases_only &= w_passed["on_w_memory"] == w_unused["on_w_memory"] == [True, True]
assert aliases_only and w_unused["writes"] == [96, 192]  # witness: reruns-on-aliases
list_ignored = not w_in_list["edge_to_w"] and w_in_list["got_w_itself"] == [True, True]
assert list_ignored and w_in_list["writes"] == [96, 192]  # witness: nested-argument-ignored
two_writes = first_write == 96 and second_write == 192
two_writes &= biased["writes"] == [168, 312]  # the second use's part, then the sum
assert reentrant["hook_calls"] == [96, 96] and two_writes  # witness: one-write-per-backward
same_as_outer = reentrant["grad"] == non_reentrant[0]["grad"] == 192
through_checkpoint = reentrant["input_requires_grad"] and reentrant["output_has_graph"]
assert through_checkpoint and same_as_outer  # witness: same-sum
no_graph_back = not first_lost["input_requires_grad"] and not first_lost["output_has_graph"]
second_part_only = first_lost["writes"] == [96] and first_use_wrapped_grad == 96
second_part_only &= biased_lost["writes"] == [168] and biased_lost_grad == 168  # 144 is lost
assert no_graph_back and second_part_only  # witness: first-use-lost
assert any("Gradients will be None" in w for w in warned)  # witness: only-warns
in_outer_graph = all(run["output_has_graph"] for run in non_reentrant)
written_once = all(run["writes"] == [192] for run in non_reentrant)
assert in_outer_graph and written_once  # witness: non-reentrant-once
non_reentrant_warnings = [w for run in non_reentrant for w in run["warnings"]]
no_warning = not [w for w in non_reentrant_warnings if w.startswith(NO_GRAD_WARNING)]
assert all(run["hook_calls"] == [192] for run in non_reentrant) and no_warning

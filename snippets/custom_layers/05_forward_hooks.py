"""Forward hooks: look at (or replace) a module's output without editing its source."""

import warnings

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
x = torch.randn(16, 4).to(device)

records = []
carried_graph = []  # whether each output the hook saw was part of an autograd graph


def record_output(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
    """Called after module.forward as hook(module, positional inputs, output); returning None
    keeps the output."""
    records.append((type(module).__name__, tuple(output.shape), output.detach()))
    carried_graph.append(output.grad_fn is not None)


handle = model[1].register_forward_hook(record_output)  # watch the ReLU
model(x)
model(x)
model[1].forward(x)  # calling forward() directly skips the module's hooks
handle.remove()  # keep the handle: it is how the hook is taken off again
model(x)
calls_recorded = len(records)
recorded_shape = records[0][1]
zero_fraction = (records[0][2] == 0).float().mean().item()
print(
    f"hook ran {calls_recorded} times for 3 model calls and 1 direct forward() call; "
    f"{records[0][0]} output shape {recorded_shape}"
)
print(f"fraction of ReLU outputs that are zero: {zero_fraction:.2f}")
print("outputs carried their graph:", all(carried_graph), " stored tensors do:", end=" ")
print(any(record[2].grad_fn is not None for record in records))


# When forward raises, a forward hook does not run, unless registered with always_call=True; that
# one gets None for the output, and an exception it raises becomes a warning.
class Fails(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("forward failed")


failing, ran_after_raise = Fails(), []
failing.register_forward_hook(lambda m, args, output: ran_after_raise.append("plain"))
failing.register_forward_hook(
    lambda m, args, output: ran_after_raise.append(("always_call", output)), always_call=True
)
failing.register_forward_hook(lambda m, args, output: output.shape, always_call=True)  # fails
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        failing(x)
    except ValueError as error:
        print(f"{type(error).__name__}: {error}")
hook_warnings = [str(warning.message) for warning in caught]
print("hooks that ran when forward raised, with the output they got:", ran_after_raise)
print("the failing always_call hook:", *hook_warnings)

# A record kept without detach() holds the graph that produced it, and what that graph saved for
# backward: here the first Linear saved its input batch. Only a backward pass frees it.


def saved_input(node: torch.autograd.graph.Node) -> torch.Tensor:
    """The input a Linear's backward node saved. On the CPU and CUDA, nn.Linear runs addmm, whose
    node calls it mat1; MPS runs a linear kernel of its own, whose node calls it input."""
    return getattr(node, "_saved_mat1" if hasattr(type(node), "_saved_mat1") else "_saved_input")


raw_records = []
handle = model[1].register_forward_hook(lambda module, args, output: raw_records.append(output))
eval_batches = [torch.randn(16, 4).to(device) for _ in range(2)]
for batch in eval_batches:
    model(batch)  # no backward, as in an evaluation loop without torch.no_grad()
linear_nodes = [record.grad_fn.next_functions[0][0] for record in raw_records]  # first Linear's
holds_input = all(map(torch.equal, map(saved_input, linear_nodes), eval_batches))  # one each
from_addmm = {type(node).__name__ for node in linear_nodes} == {"AddmmBackward0"}  # not on MPS
model(x).sum().backward()  # a backward pass through the third record's graph
try:
    saved_input(raw_records[2].grad_fn.next_functions[0][0])
except RuntimeError as error:
    freed_message = str(error)
handle.remove()
print(f"each undetached record from a pass without backward holds its batch: {holds_input}")
print("after backward:", freed_message.split(" (")[1].split(")")[0])

# detach() makes no copy: the stored tensor shares the output's memory, so a module that works in
# place after the hooked one rewrites the record. detach().clone() keeps the values as they were.
kept = {}


def keep_output(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
    kept["output_address"] = output.data_ptr()
    kept["detached"] = output.detach()
    kept["cloned"] = output.detach().clone()


inplace_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True)).to(device)
inplace_model[0].register_forward_hook(keep_output)  # the Linear, followed by an in-place ReLU
inplace_model(x)
shares_memory = kept["detached"].data_ptr() == kept["output_address"]
detached_rewritten = torch.equal(kept["detached"], kept["cloned"].relu())
clone_has_negatives = bool((kept["cloned"] < 0).any())
print(f"detached record shares the output's memory: {shares_memory}", end="; ")
print(f"rewritten by the in-place ReLU: {detached_rewritten}")
print("the detach().clone() record kept the negative values:", clone_has_negatives)


def clamp_output(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.clamp(-0.1, 0.1)  # any value other than None replaces the module's output


with torch.no_grad():
    plain = model(x)
    repr_before = repr(model)
    handle = model[2].register_forward_hook(clamp_output)
    clamped = model(x)
    repr_unchanged = repr(model) == repr_before  # print(model) does not show the hook
    handle.remove()
    restored = model(x)
largest_plain = plain.abs().max().item()
largest_clamped = clamped.abs().max().item()
hook_removed_cleanly = torch.equal(plain, restored)
print(f"largest |output|: {largest_plain:.2f} without the hook, {largest_clamped:.2f} with it")
print("after removal, outputs as before:", hook_removed_cleanly)
print("print(model) the same with the hook as without:", repr_unchanged)


def zero_input(module: nn.Module, args: tuple) -> torch.Tensor:
    return torch.zeros_like(args[0])  # not a tuple: it becomes the only positional input


def zero_input_tuple(module: nn.Module, args: tuple) -> tuple:
    return (torch.zeros_like(args[0]),)  # a tuple: used as the positional inputs


with torch.no_grad():
    handle = model[0].register_forward_pre_hook(zero_input)
    first_layer_output = model[0](x)
    handle.remove()
    handle = model[0].register_forward_pre_hook(zero_input_tuple)
    tuple_output = model[0](x)
    handle.remove()
pre_hook_replaced_input = torch.equal(first_layer_output, model[0].bias.expand(16, 8))
tuple_replaced_inputs = torch.equal(tuple_output, model[0].bias.expand(16, 8))
print(
    "with the pre-hook, the first layer sees zeros and outputs its bias:", pre_hook_replaced_input
)
print("the same with a pre-hook that returns the tuple (zeros,):", tuple_replaced_inputs)


def zero_input_and_keywords(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    return (torch.zeros_like(args[0]),), kwargs  # with_kwargs=True: the pair replaces both


with torch.no_grad():
    handle = model[0].register_forward_pre_hook(zero_input_and_keywords, with_kwargs=True)
    pair_replaced_input = torch.equal(model[0](x), model[0].bias.expand(16, 8))
    handle.remove()
    lone_value = model[0].register_forward_pre_hook(
        lambda module, args, kwargs: zero_input(module, args), with_kwargs=True
    )
    try:
        model[0](x)
        lone_value_message = ""
    except RuntimeError as error:
        lone_value_message = str(error)
    lone_value.remove()
print("with_kwargs=True and a lone tensor returned:", lone_value_message.split(", but got")[0])
# In the pair, args must itself be a tuple: a bare tensor is unpacked along its first dimension,
# so a batch of one row reaches forward as that row alone, and no error says so.
with torch.no_grad():
    handle = model[0].register_forward_pre_hook(
        lambda m, args, kwargs: (args[0], kwargs), with_kwargs=True
    )
    bare_args_shape = tuple(model[0](x[:1]).shape)
    handle.remove()
print(f"a bare tensor as args, input shape {tuple(x[:1].shape)}: output shape", bare_args_shape)


# Any 2-tuple is read as (args, kwargs): two new positional inputs must come as ((a, b), kwargs).
class Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


add, ones = Add(), torch.ones(2, device=device)
handle = add.register_forward_pre_hook(
    lambda m, args, kwargs: (-args[0], -args[1]), with_kwargs=True
)
try:
    add(ones, ones)
    two_inputs_message = ""
except TypeError as error:  # -args[1] arrived as the keyword arguments
    two_inputs_message = f"{type(error).__name__}: {str(error).split('() ')[-1]}"
handle.remove()
handle = add.register_forward_pre_hook(
    lambda m, args, kwargs: ((-args[0], -args[1]), kwargs), with_kwargs=True
)
nested_pair_works = torch.equal(add(ones, ones), -2 * ones)
handle.remove()
handle = add.register_forward_pre_hook(lambda m, a, kw: (a, {"b": -kw["b"]}), with_kwargs=True)
keyword_negated = add(ones, b=ones).tolist()  # the hook got b=1 and passed b=-1 on
handle.remove()
print(f"returning (a, b): {two_inputs_message}")
print("returning ((a, b), kwargs) works:", nested_pair_works)
print("add(1, b=1) with a hook that negates b:", keyword_negated)

assert calls_recorded == 2  # witness: hook-removed
assert recorded_shape == (16, 8) and 0 < zero_fraction < 1
assert all(carried_graph) and records[0][2].grad_fn is None  # witness: detach-drops-graph
assert holds_input  # witness: undetached-holds-saved
assert holds_input and (from_addmm or device.type == "mps")  # witness: linear-runs-addmm
assert "already been freed" in freed_message  # witness: backward-frees-saved
assert shares_memory and detached_rewritten and clone_has_negatives  # witness: detach-shares-memory
assert largest_plain > 0.1 and abs(largest_clamped - 0.1) < 1e-6  # witness: hook-replaces-output
assert hook_removed_cleanly  # witness: removed-cleanly
assert repr_unchanged  # witness: hook-not-in-repr
assert pre_hook_replaced_input  # witness: pre-hook-replaces-input
assert tuple_replaced_inputs  # witness: pre-hook-tuple
assert pair_replaced_input and "new_kwargs" in lone_value_message  # witness: kwargs-pre-hook-pair
assert "must be a mapping, not Tensor" in two_inputs_message  # witness: pair-read-as-args-kwargs
assert nested_pair_works  # witness: nested-pair-works
assert keyword_negated == [0.0, 0.0]  # witness: kwargs-reach-hook
assert bare_args_shape == (8,)  # witness: bare-args-unpacked
assert ran_after_raise == [("always_call", None)]  # witness: raise-skips-hooks
silenced = hook_warnings[0].startswith("module forward hook with ``always_call=True`` raised")
assert len(hook_warnings) == 1 and silenced  # witness: always-call-error-warns

"""load_state_dict(assign=True) puts new Parameters in the module, unless the swap flag is on."""

import re
import textwrap
import weakref

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
x = torch.ones(1, 2, device=device)


def refusals(message: str) -> list[tuple[str, str]]:
    """(name, reason) for each entry that a load's error message says it could not swap."""
    found = []
    for part in message.split("While swapping")[1:]:
        name = re.search(r'named "(.+?)"', part)[1]
        reason = part.split("occurred : (", 1)[1].rstrip(" .").removesuffix(",)")
        found.append((name, reason[1:-1]))  # the reason without the quotes around it
    return found


def load_error(module: nn.Module, checkpoint: dict, assign: bool = False) -> str:
    """module.load_state_dict(checkpoint)'s error on one line, or "" if the load went through."""
    try:
        module.load_state_dict(checkpoint, assign=assign)
    except RuntimeError as error:
        return " ".join(str(error).split())
    return ""


def load_keeps_extras(assign: bool = False) -> tuple[bool, bool, list[str]]:
    """Load a Linear layer: is its weight the same object after the load, is an attribute set on
    it before the load still there, and which of the hooks registered on it before run?"""
    layer = nn.Linear(2, 1).to(device)
    weight, ran = layer.weight, []
    weight.note = "set before the load"
    weight.register_hook(lambda grad: ran.append("register_hook"))
    weight.register_post_accumulate_grad_hook(lambda p: ran.append("post_accumulate_grad"))
    new_values = nn.Linear(2, 1).to(device).state_dict()
    layer.load_state_dict({key: value.clone() for key, value in new_values.items()}, assign=assign)
    layer(x).sum().backward()
    return layer.weight is weight, hasattr(layer.weight, "note"), ran


# load_state_dict(..., assign=True) puts new Parameter objects in the module, as
# layer.weight = nn.Parameter(...) does. They take the checkpoint's tensors without a copy, so a
# step with a new optimizer changes the checkpoint too.
checkpoint = nn.Linear(2, 1).to(device).state_dict()
loaded = checkpoint["weight"].clone()  # a copy, to compare with
layer = nn.Linear(2, 1).to(device)
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
layer.load_state_dict(checkpoint, assign=True)
assign_tracked = any(p is layer.weight for p in optimizer.param_groups[0]["params"])
assign_no_copy = layer.weight.data_ptr() == checkpoint["weight"].data_ptr()
optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)  # a new one holds the new Parameters
layer(x).sum().backward()
optimizer.step()
assign_moved = not torch.equal(checkpoint["weight"], loaded)
assign_shared = torch.equal(checkpoint["weight"], layer.weight.detach())
print("after load_state_dict(..., assign=True): optimizer tracks the weight:", assign_tracked)
print("  no copy:", assign_no_copy, "| a new optimizer's step moved the checkpoint:", assign_moved)

copy_extras = load_keeps_extras()  # a load without the switch copies into the weight
new_extras = load_keeps_extras(assign=True)  # a new object, which never had them
# Under the swap flag, assign=True swaps the checkpoint's values (no copy) into the module's
# Parameter objects instead: the model and the checkpoint still share storage.
checkpoint = nn.Linear(2, 1).to(device).state_dict()
checkpoint_address = checkpoint["weight"].data_ptr()  # where the checkpoint's values live
loaded = checkpoint["weight"].clone()  # a copy: the step below changes the checkpoint itself
swap_before = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    layer = nn.Linear(2, 1).to(device)
    weight_object = layer.weight
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    assign_pending, assign_pending_message = layer(x).sum(), ""  # a graph built before the load
    layer.load_state_dict(checkpoint, assign=True)
    try:
        assign_pending.backward()
    except RuntimeError as error:
        assign_pending_message = str(error)
    swap_same_object = layer.weight is weight_object
    swap_tracked = any(p is layer.weight for p in optimizer.param_groups[0]["params"])
    swap_loaded = torch.equal(layer.weight.detach(), loaded)
    swap_no_copy = layer.weight.data_ptr() == checkpoint_address
    layer(x).sum().backward()
    optimizer.step()
    swap_trained = not torch.equal(layer.weight.detach(), loaded)
    checkpoint_trained = torch.equal(checkpoint["weight"], layer.weight.detach())
    # The swap keeps the object, not what was set on it: attributes and hooks go with the old
    # values.
    swap_extras, swap_assign_extras = load_keeps_extras(), load_keeps_extras(assign=True)
    # Every load swaps under the flag, assign=True or not: it drops the gradients already
    # computed, and a graph built before the load can no longer run backward.
    plain = nn.Linear(2, 1).to(device)
    pending = plain(x).sum()  # a graph built before the load, not yet run backward
    plain(x).sum().backward()  # gradients computed before the load
    grad_before = plain.weight.grad is not None
    plain_optimizer = torch.optim.SGD(plain.parameters(), lr=0.1, weight_decay=0.1)
    plain_checkpoint = {k: v.clone() for k, v in nn.Linear(2, 1).to(device).state_dict().items()}
    plain.load_state_dict(plain_checkpoint)  # no assign=True
    grad_dropped = grad_before and plain.weight.grad is None
    plain_optimizer.step()  # with a .grad of zeros, weight decay would move the weight
    step_idle = torch.equal(plain.weight.detach(), plain_checkpoint["weight"])
    # L-BFGS calls its closure, which runs backward and computes the gradients again.
    lbfgs = torch.optim.LBFGS(plain.parameters(), max_iter=1)

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        loss = plain(x).sum()
        loss.backward()
        return loss

    lbfgs.step(closure)
    lbfgs_regrad = plain.weight.grad is not None  # the closure's backward wrote a new .grad
    lbfgs_moved = not torch.equal(plain.weight.detach(), plain_checkpoint["weight"])
    pending_message = ""
    try:
        pending.backward()
    except RuntimeError as error:
        pending_message = str(error)
    # A hook sees what the graph saves. For each saved tensor: does it share 2.weight's memory,
    # is it a transposed view of 2.weight, is it a view of a bfloat16 copy of it?
    saved = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        weight = deep[2].weight
        shares = tensor.untyped_storage().data_ptr() == weight.untyped_storage().data_ptr()
        transposed = weight.detach().t()
        view = tensor._is_view() and tensor._base is weight and torch.equal(tensor, transposed)
        copy = tensor.dtype == torch.bfloat16 and tensor._is_view()
        copy = copy and torch.equal(tensor, transposed.to(torch.bfloat16))
        saved.append((shares, view, copy))
        return tensor

    # Two layers: the second one's input requires grad, so the graph saves a transposed view of
    # its weight, and the load cannot swap it. It goes on with the other entries and raises at the
    # end. The refused weight keeps an attribute set on it: the swap refuses before moving it.
    load_message, deep_loaded, in_place, note_kept, backward_after = "", {}, {}, {}, {}
    for assign in (False, True):
        deep = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
        deep[2].weight.note = "set before the load"
        deep_checkpoint = {key: value + 1 for key, value in deep.state_dict().items()}  # new values
        addresses = {key: value.data_ptr() for key, value in deep.state_dict().items()}
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            pending = deep(x).sum()
        try:
            deep.load_state_dict(deep_checkpoint, assign=assign)
        except RuntimeError as error:
            load_message = load_message or " ".join(str(error).split())
        now = deep.state_dict()
        deep_loaded[assign] = [k for k in now if torch.equal(now[k], deep_checkpoint[k])]
        in_place[assign] = [k for k in now if now[k].data_ptr() == addresses[k]]  # same memory
        note_kept[assign] = hasattr(deep[2].weight, "note")
        try:  # the graph built before the refused load
            pending.backward()
            backward_after[assign] = "ran"
        except RuntimeError as error:
            backward_after[assign] = str(error).split(" this")[0]
    saved_view = any(view for _, view, _ in saved)  # the graph saved a transposed view of 2.weight
    # The switch is named for conversions: .half() swaps too, and is refused in the same way. It
    # stops at the refused weight, after converting the entries before it.
    converted = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
    pending, convert_message = converted(x).sum(), ""
    try:
        converted.half()
    except RuntimeError as error:
        convert_message = str(error).splitlines()[0]
    converted_state = converted.state_dict()
    convert_dtypes = {k: str(v.dtype).removeprefix("torch.") for k, v in converted_state.items()}
    control = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
    control.half()  # the control: no forward pass, so no graph holds a weight
    control_half = all(value.dtype == torch.float16 for value in control.state_dict().values())
    # Under autocast, Linear saves the low-precision copy autocast makes of its weight, not the
    # weight: the load goes through, and backward fails instead.
    deep, saved = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device), []
    hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor)
    with hooks, torch.autocast(device.type, dtype=torch.bfloat16):
        pending = deep(x).sum()
    autocast_message = ""
    try:
        deep.load_state_dict({key: value + 1 for key, value in deep.state_dict().items()})
        pending.backward()
    except RuntimeError as error:
        autocast_message = str(error)  # the load's error, or backward's
    # Inside the block, autocast's cache holds a weak reference to each trainable weight it cast,
    # and the swap refuses them all. With the cache off, the load goes through.
    inside_refused, inside_poisoned, inside_loaded, inside_stale = {}, {}, {}, {}
    later_poisoned = {}  # backward through the forward pass made after the load
    inside_note = {}  # is an attribute set on 0.weight before the load still there?
    for cache in (True, False):
        deep = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
        deep[0].weight.note = "set before the load"
        inside_checkpoint = {key: value + 1 for key, value in deep.state_dict().items()}
        inside_error = ""
        with torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache):
            pending = deep(x).sum()
            try:
                deep.load_state_dict(inside_checkpoint)
            except RuntimeError as error:
                inside_error = " ".join(str(error).split())
            later = deep(x).sum()  # a forward pass after the load, in the same block
        inside_stale[cache] = torch.equal(later.detach(), pending.detach())  # the old output
        now = deep.state_dict()
        inside_loaded[cache] = all(torch.equal(now[key], inside_checkpoint[key]) for key in now)
        inside_refused[cache] = refusals(inside_error)
        inside_note[cache] = hasattr(deep[0].weight, "note")
        try:
            pending.backward()
        except RuntimeError as error:
            inside_poisoned[cache] = "poisoned by swap_tensors" in str(error)
        try:
            later.backward()
        except RuntimeError as error:
            later_poisoned[cache] = "poisoned by swap_tensors" in str(error)
    inside_message = inside_refused[True][0][1] if inside_refused[True] else ""
    # Autocast does not cache the copies of weights that need no gradient: a frozen model loads.
    frozen = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
    frozen.requires_grad_(False)
    frozen_checkpoint, frozen_error = {k: v + 1 for k, v in frozen.state_dict().items()}, ""
    with torch.autocast(device.type, dtype=torch.bfloat16):
        frozen_before = frozen(x).sum()
        try:
            frozen.load_state_dict(frozen_checkpoint)
        except RuntimeError as error:
            frozen_error = str(error)
        frozen_after = frozen(x).sum()  # computed from the loaded values, not from a cache
    frozen_loads = frozen_error == "" and not torch.equal(frozen_after, frozen_before)
    # The cache lives until the outermost block ends: a load after an inner block is still inside.
    nested = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            pending = nested(x).sum()
        # after the inner block, inside the outer one
        nested_error = load_error(nested, {k: v + 1 for k, v in nested.state_dict().items()})
    nested_refused = [name for name, _ in refusals(nested_error)]
    # A view of a weight kept outside any graph is a reference too: the swap refuses the weight.
    viewed = nn.Linear(2, 1).to(device)
    view_checkpoint = {key: value.clone() for key, value in viewed.state_dict().items()}
    with torch.no_grad():
        first_row = viewed.weight[0]  # a view that shares the weight's storage
    view_message = load_error(viewed, view_checkpoint)
    del first_row
    viewed.load_state_dict(view_checkpoint)  # without the view, the same load goes through
    # A freshly built nn.GRU (like nn.RNN and nn.LSTM) keeps weak references to its weights: a swap
    # load is refused, with no graph at all (without assign=True, after copying the values in).
    recurrent = nn.GRU(3, 4).to(device)
    kept_refs = {id(ref) for ref in recurrent._flat_weight_refs}  # the layer's own weak references
    own_weakrefs = all(
        any(id(ref) in kept_refs for ref in weakref.getweakrefs(p)) for p in recurrent.parameters()
    )
    recurrent_checkpoint = {k: v + 1 for k, v in recurrent.state_dict().items()}  # new values
    recurrent_error = load_error(recurrent, recurrent_checkpoint)
    recurrent_now = recurrent.state_dict()
    recurrent_copied = all(
        torch.equal(recurrent_now[k], v) for k, v in recurrent_checkpoint.items()
    )
    assigning = nn.GRU(3, 4).to(device)  # with assign=True the refused load changes nothing
    assigning_before = {k: v.clone() for k, v in assigning.state_dict().items()}
    assigning_weight = assigning.weight_ih_l0
    assigning_weight.note = "set before the load"
    assign_checkpoint = {k: v + 1 for k, v in assigning_before.items()}
    assign_error = load_error(assigning, assign_checkpoint, assign=True)
    assigning_now = assigning.state_dict()
    assign_unchanged = all(torch.equal(assigning_now[k], v) for k, v in assigning_before.items())
    same_weight = assigning.weight_ih_l0 is assigning_weight and hasattr(assigning_weight, "note")
    assign_unchanged = assign_unchanged and same_weight
    recurrent_refused = refusals(recurrent_error)
    recurrent_message = recurrent_refused[0][1] if recurrent_refused else ""
    # After the optimizer step, the load goes through once backward has freed the graph; a graph
    # kept with retain_graph=True still holds what it saved.
    retained_refused = {}
    for retain in (True, False):
        stepped = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(device)
        step_optimizer = torch.optim.SGD(stepped.parameters(), lr=0.1)
        loss = stepped(x).sum()  # kept in a variable either way
        loss.backward(retain_graph=retain)
        step_optimizer.step()
        retained_error = load_error(
            stepped, {k: v.clone() for k, v in stepped.state_dict().items()}
        )
        retained_refused[retain] = [name for name, _ in refusals(retained_error)]
    # An output that the loss did not use keeps its part of the graph after a plain backward.
    heads = nn.ModuleDict(
        {"trunk": nn.Linear(2, 3), "head": nn.Linear(3, 1), "aux": nn.Linear(3, 1)}
    ).to(device)
    heads_optimizer = torch.optim.SGD(heads.parameters(), lr=0.1)
    hidden = heads["trunk"](x).relu()  # requires grad, so each head's graph saves its weight
    loss, unused_output = heads["head"](hidden).sum(), heads["aux"](hidden)  # kept, not in the loss
    loss.backward()
    heads_optimizer.step()
    unused_error = load_error(heads, {k: v.clone() for k, v in heads.state_dict().items()})
    unused_refused = [name for name, _ in refusals(unused_error)]
    # Other layers save tensors whatever their input. BatchNorm saves its weight and its running
    # statistics, which are buffers, but not its bias or its num_batches_tracked.
    norm = nn.Sequential(nn.BatchNorm1d(2)).to(device).eval()
    norm_checkpoint = {key: value.clone() for key, value in norm.state_dict().items()}
    pending = norm(x).sum()  # x needs no gradient
    norm_message = load_error(norm, norm_checkpoint)
    norm_refused = refusals(norm_message)
    # A running statistic needs no gradient, so it has no gradient edge for the swap to look up.
    edge_message = ""
    try:
        torch.autograd.graph.get_gradient_edge(norm[0].running_mean)
    except RuntimeError as error:
        edge_message = str(error)
finally:
    torch.__future__.set_swap_module_params_on_conversion(swap_before)
print(
    "with the swap flag: same Parameter object:",
    swap_same_object,
    "| loaded values:",
    swap_loaded,
    "| no copy:",
    swap_no_copy,
    "| tracked:",
    swap_tracked,
    "| moved by a step:",
    swap_trained,
)
print("  the checkpoint's weight was moved by that step too:", checkpoint_trained and swap_trained)
print("  an attribute and two hooks set on a weight, then a load without the flag:", end=" ")
print(f"attribute kept {copy_extras[1]}, hooks run {copy_extras[2]}", end="; ")
print("with assign=True: same object", new_extras[0])
print(f"  the same with the flag: same object {swap_extras[0]}", end=", ")
print(f"attribute kept {swap_extras[1]}, hooks run {swap_extras[2]}", end="; ")
print("the same with assign=True:", swap_assign_extras == swap_extras)
print("  backward through a graph built before the load:", assign_pending_message.split(" this")[0])
print("  a load without assign=True: .grad dropped:", grad_dropped, end=", ")
print("backward through a graph built before it:", pending_message.split(" this")[0])
print("  a step right after that load left the weight as loaded:", step_idle, end="; ")
print("an L-BFGS step moved it:", lbfgs_moved)
print("  the graph through two layers saved a transposed view of 2.weight:", saved_view)
print("  a load after a forward pass through them raises:")
print(textwrap.fill(load_message, 96, initial_indent="    ", subsequent_indent="    "))
print("  entries that hold the checkpoint's values after it:", ", ".join(deep_loaded[False]))
print("  the same with assign=True:", ", ".join(deep_loaded[True]))
print("  .half() after a forward pass through two layers:", convert_message)
print("    it stopped there:", ", ".join(f"{key} {dtype}" for key, dtype in convert_dtypes.items()))
print("    the same .half() before any forward pass goes through:", control_half)
print("  the same load after a forward pass under autocast:", autocast_message.split(" this")[0])
saved_weight, saved_copy = any(s for s, _, _ in saved), any(c for _, _, c in saved)
print("  under autocast the graph saved 2.weight itself:", saved_weight, end="")
print(", a bfloat16 copy of it:", saved_copy)
print("  a load inside the autocast block refuses:", ", ".join(n for n, _ in inside_refused[True]))
print("    " + inside_message)
print("  with cache_enabled=False it refuses", len(inside_refused[False]), "entries", end=", ")
print("and backward then fails too:", inside_poisoned.get(False, False))
print("  after the refused load: the checkpoint's values are in:", inside_loaded[True], end=", ")
print("backward fails:", inside_poisoned.get(True, False), end=", ")
print("an attribute on 0.weight is kept:", inside_note[True])
print("    a forward pass later in the block gives the old output:", inside_stale[True], end="")
print(", with the cache off:", inside_stale[False])
print("    backward through that later pass fails:", later_poisoned.get(True, False), end="")
print(", with the cache off:", later_poisoned.get(False, False))
print("  a load after an inner block, inside an outer one, refuses:", ", ".join(nested_refused))
print("  a frozen model (requires_grad_(False)) loads inside the block:", frozen_loads)
print("  a load while a view of a weight is kept:", view_message.split(", whose")[0])
refused_names = {
    retain: ", ".join(names) or "nothing" for retain, names in retained_refused.items()
}
print("  after backward and a step, a load refuses:", refused_names[False], end="")
print("; after backward(retain_graph=True) and a step:", refused_names[True])
print("    after backward and a step, with an output the loss did not use kept:", *unused_refused)
print("  a load into a GRU, before any forward pass, refuses:", *(n for n, _ in recurrent_refused))
print("    " + recurrent_message)
print("  a load after a forward pass through a BatchNorm1d in eval mode refuses:")
for name, reason in norm_refused:
    print(f"    {name}: {textwrap.shorten(reason, 90)}")

assert not assign_tracked  # witness: assign-replaces
assert assign_no_copy and assign_moved and assign_shared  # witness: assign-shares-storage
swap_kept = swap_same_object and swap_loaded and swap_no_copy and swap_tracked
assert swap_kept and swap_trained  # witness: swap-keeps-objects
assert swap_no_copy and swap_trained and checkpoint_trained  # witness: checkpoint-shares-storage
both_hooks = ["register_hook", "post_accumulate_grad"]
copy_keeps = copy_extras == (True, True, both_hooks)
swap_drops = swap_extras == swap_assign_extras == (True, False, [])  # without assign=True, with it
new_lacks = new_extras == (False, False, [])  # without the switch, with assign=True
assert copy_keeps and new_lacks and swap_drops  # witness: swap-drops-extras
assert "poisoned by swap_tensors" in pending_message  # witness: swap-poisons-graph
poisoned_both = [pending_message, assign_pending_message]  # without assign=True, then with it
every_load_swaps = all("poisoned by swap_tensors" in message for message in poisoned_both)
assert every_load_swaps and swap_same_object  # witness: swap-every-load
assert grad_dropped  # witness: swap-drops-grad
assert step_idle  # witness: swap-step-idle
assert lbfgs_regrad and lbfgs_moved  # witness: swap-lbfgs-moves
swap_refused = 'While swapping the parameter named "2.weight"' in load_message
only_saved = "use_count" in load_message and '"0.weight"' not in load_message  # 0: input no grad
assert swap_refused and only_saved and saved_view  # witness: swap-refuses-saved
half_refused = convert_message.startswith("_apply(): Couldn't swap")
half_stopped = list(convert_dtypes.values()) == ["float16"] * 2 + ["float32"] * 2  # 0.*, 2.*
assert half_refused and half_stopped and control_half  # witness: swap-conversions
all_keys = ["0.weight", "0.bias", "2.weight", "2.bias"]
assert deep_loaded[False] == all_keys  # witness: swap-loads-all
refused_then_fails = all(message != "ran" for message in backward_after.values())
assert refused_then_fails  # witness: backward-fails-after-refusal
copied_first = in_place[False] == all_keys and in_place[True] == ["2.weight"]
assert copied_first and "2.weight" in deep_loaded[False]  # witness: swap-copies-in-place
assert deep_loaded[True] == ["0.weight", "0.bias", "2.bias"]  # witness: swap-assign-keeps-refused
autocast_poisoned = "poisoned by swap_tensors" in autocast_message  # so the load went through
assert autocast_poisoned  # witness: autocast-loads
assert saved_copy and not saved_weight  # witness: autocast-saves-copy
weakrefs = all(reason.startswith("Expected no weakrefs") for _, reason in inside_refused[True])
all_refused = [name for name, _ in inside_refused[True]] == all_keys and weakrefs
cache_off_loads = inside_refused[False] == [] and inside_poisoned.get(False, False)
assert all_refused and cache_off_loads  # witness: autocast-inside-refused
refused_leaves = inside_loaded[True] and inside_poisoned.get(True, False)
stale_from_cache = inside_stale[True] and not inside_stale[False]
assert refused_leaves and stale_from_cache  # witness: autocast-refused-poisons
later_broken = later_poisoned.get(True, False) and not later_poisoned.get(False, False)
assert later_broken  # witness: autocast-later-poisoned
assert not inside_note[True] and note_kept[False]  # witness: autocast-refused-drops-attribute
assert nested_refused == all_keys  # witness: autocast-nested-refused
assert frozen_loads  # witness: autocast-frozen-loads
view_refused = 'While swapping the parameter named "weight"' in view_message
assert view_refused and "use_count" in view_message  # witness: view-refused
gru_names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
weakref_reason = "Cannot swap t1 because it has weakref"
gru_reasons = all(reason.startswith(weakref_reason) for _, reason in recurrent_refused)
recurrent_blocked = [name for name, _ in recurrent_refused] == gru_names and gru_reasons
assign_reasons = all(reason.startswith(weakref_reason) for _, reason in refusals(assign_error))
assign_refused = [name for name, _ in refusals(assign_error)] == gru_names and assign_reasons
assign_refused = assign_refused and assign_unchanged
recurrent_blocked = recurrent_blocked and own_weakrefs and recurrent_copied and assign_refused
assert recurrent_blocked  # witness: recurrent-refused
retained_blocks = retained_refused == {True: ["2.weight"], False: []}
retained_blocks = retained_blocks and unused_refused == ["aux.weight"]
assert retained_blocks  # witness: retained-graph-refused
norm_saved = ["0.weight", "0.running_mean", "0.running_var"]  # not 0.bias, 0.num_batches_tracked
assert [name for name, _ in norm_refused] == norm_saved  # witness: swap-refuses-buffers
statistics_reasons = [reason for name, reason in norm_refused if "running" in name]
edge_reason = edge_message.startswith("It is not possible to get the gradient edge")
from_edge = edge_reason and statistics_reasons == [edge_message] * 2  # get_gradient_edge's error
assert from_edge and not norm[0].running_mean.requires_grad  # witness: statistics-message

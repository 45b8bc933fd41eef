"""Module.to and to_empty put converted tensors back in one of three ways; two keep a tie."""

import io
from unittest import mock

import torch
from torch import nn
from torch.testing._internal.two_tensor import TwoTensor  # a small wrapper subclass from torch


class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


def is_tied(model: TiedPair) -> bool:
    return model.out.weight is model.embed.weight


def reused_stack() -> nn.Sequential:
    """The other kind of tie: one module at two positions."""
    shared = nn.Linear(4, 4)
    return nn.Sequential(shared, nn.ReLU(), shared)


def stack_is_tied(stack: nn.Sequential) -> bool:
    return stack[0].weight is stack[2].weight


def same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


# Everything here starts on the CPU: float64 is not on every accelerator (MPS has none).

# 1. The default: Module._apply sets param.data to the converted tensor. The Parameter object
#    stays, so both modules still hold it. A dtype change is a real conversion on any machine.
converted = TiedPair()
before_conversion = converted.embed.weight
converted.to(torch.float64)
kept_object = converted.embed.weight is before_conversion and is_tied(converted)
print(f"to(torch.float64): same Parameter object {kept_object}, now {before_conversion.dtype}")
# _apply converts each module's own parameters, and buffers are always replaced by fn(buffer):
# one buffer registered in two modules becomes two tensors.
mask, masked = torch.ones(4), nn.Sequential(nn.Module(), nn.Module())
for layer in masked:
    layer.register_buffer("mask", mask)
masked.to(torch.float64)
buffer_untied = masked[0].mask is not mask and masked[0].mask is not masked[1].mask
print(f"one buffer in two modules, after to(torch.float64): two tensors {buffer_untied}")

# 2. First _apply asks whether the old and the new tensor are of compatible kinds, the check that
#    also guards .data =. A CPU tensor and a float64 copy are; a CPU and a meta tensor are not,
#    so _apply builds a new Parameter for each attribute that held the old one. That unties them.
weight = TiedPair().embed.weight
compatible_float64 = torch._has_compatible_shallow_copy_type(weight, weight.to(torch.float64))
compatible_meta = torch._has_compatible_shallow_copy_type(weight, weight.to("meta"))
print(f"compatible kinds: CPU and float64 {compatible_float64}, CPU and meta {compatible_meta}")
try:
    nn.Parameter(torch.zeros(2)).data = torch.zeros(2, device="meta")
    data_refuses_meta = False
except RuntimeError as error:
    data_refuses_meta = "incompatible tensor type" in str(error)
on_meta = TiedPair()
original = on_meta.embed.weight
on_meta.to("meta")
new_on_meta = on_meta.embed.weight is not original and on_meta.out.weight is not original
print(f".data = refuses a meta tensor: {data_refuses_meta}; after .to('meta'):", end=" ")
print(f"new Parameters {new_on_meta}, tied {is_tied(on_meta)}")


def noting(to: torch.dtype | str) -> tuple:
    """Much like the conversion .to(to) passes to _apply; it notes each tensor it gets."""
    given, given_objects = [], []  # what the conversion gets, once through each module

    def convert(t: torch.Tensor) -> torch.Tensor:
        given.append(f"{t.device.type} {t.dtype}")
        given_objects.append(t)
        return t.to(to)

    return convert, given, given_objects


to_float64, given, given_objects = noting(torch.float64)
TiedPair()._apply(to_float64)  # one object: the second call gets it converted
calls_pair, calls_embed = [], []  # an identity conversion, on the pair and on one module alone
TiedPair()._apply(lambda t: calls_pair.append(t) or t)
TiedPair().embed._apply(lambda t: calls_embed.append(t) or t)
print(f"calls of the conversion: TiedPair {len(calls_pair)}, its embed alone {len(calls_embed)}")
meta_pair = TiedPair()
meta_original = meta_pair.embed.weight
to_meta, given_meta, meta_objects = noting("meta")
meta_pair._apply(to_meta)  # a new Parameter: the other module still holds the old one
print("the tied Parameter as the conversion gets it, to float64:", given, "to meta:", given_meta)
second_got_old = meta_objects[1] is meta_original
print("to meta, the second call got the old Parameter object:", second_got_old)
# A module reused at two positions has one weight attribute: one new Parameter, still shared.
stack = reused_stack()
stack_weight = stack[0].weight
stack.to("meta")
stack_converted = stack[0].weight is not stack_weight and stack[0].weight.is_meta
print(f"reused module, .to('meta'): new Parameter {stack_converted}, tied {stack_is_tied(stack)}")

# to_empty(device=...) converts with torch.empty_like, so the same rule decides.
with torch.device("meta"):  # built without memory, tied, then materialized
    built_on_meta, stack_on_meta = TiedPair(), reused_stack()
tied_when_built = is_tied(built_on_meta)
built_on_meta.to_empty(device="cpu")
meta_stack_weight = stack_on_meta[0].weight
stack_on_meta.to_empty(device="cpu")
stack_materialized = (
    not stack_on_meta[0].weight.is_meta and stack_on_meta[0].weight is not meta_stack_weight
)
emptied_on_cpu = TiedPair()  # from the CPU: .data = works
cpu_weight = emptied_on_cpu.embed.weight
# Hold the old memory: the tied weight is converted twice, and once freed, the old memory could be
# handed out again by the second conversion.
old_data = cpu_weight.detach()
deterministic = torch.are_deterministic_algorithms_enabled()
warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
fill_nan = torch.utils.deterministic.fill_uninitialized_memory  # True by default
torch.use_deterministic_algorithms(True)  # to_empty's new float memory is then filled with NaN
try:
    emptied_on_cpu.to_empty(device="cpu")
finally:
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
new_memory = emptied_on_cpu.embed.weight is cpu_weight and not same_memory(cpu_weight, old_data)
all_nan = bool(cpu_weight.isnan().all())  # the old values were not copied
print(
    f"to_empty(): from meta, tied {is_tied(built_on_meta)};",
    f"from the CPU, tied {is_tied(emptied_on_cpu)}, new memory {new_memory}, all NaN {all_nan};",
    f"reused module from meta, tied {stack_is_tied(stack_on_meta)}",
)

# Two flags in torch.__future__ change the choice. Each holds for the whole process, so each is
# restored in a finally.
# The first flag makes _apply build a new Parameter per attribute even where .data = would work.
# A traceable wrapper subclass (it defines __tensor_flatten__ and __tensor_unflatten__) is swapped
# in all the same.


def to_two_tensor(t: torch.Tensor) -> torch.Tensor:
    if isinstance(t, TwoTensor):  # converted already, through the other module
        return t
    return TwoTensor(t.detach(), t.detach().clone())


class Plain(torch.Tensor):  # a subclass without __tensor_flatten__: not traceable
    pass


def to_plain(t: torch.Tensor) -> torch.Tensor:
    return t if type(t) is Plain else t.detach().clone().as_subclass(Plain)


overwritten, overwritten_stack, wrapped = TiedPair(), reused_stack(), TiedPair()
overwritten_stack_weight = overwritten_stack[0].weight
plain = TiedPair()
plain_original = plain.embed.weight
unchanged = TiedPair()  # converted to the dtype it already has
original, wrapped_original = overwritten.embed.weight, wrapped.embed.weight
unchanged_original = unchanged.embed.weight
previous = torch.__future__.get_overwrite_module_params_on_conversion()
torch.__future__.set_overwrite_module_params_on_conversion(True)
try:
    overwritten.to(torch.float64)
    unchanged.to(torch.float32)
    overwritten_stack.to(torch.float64)
    wrapped._apply(to_two_tensor)
    plain._apply(to_plain)
finally:
    torch.__future__.set_overwrite_module_params_on_conversion(previous)
new_after_overwrite = (
    overwritten.embed.weight is not original and overwritten.out.weight is not original
)
# Two copies: the second call converted the old Parameter again, into memory of its own.
separate_copies = not same_memory(overwritten.embed.weight, overwritten.out.weight)
# Nothing to convert: two new Parameters on the one old memory, the half-tie of assign=True.
new_on_old = [
    w is not unchanged_original and same_memory(w, unchanged_original)
    for w in (unchanged.embed.weight, unchanged.out.weight)
]
half_tie = not is_tied(unchanged) and all(new_on_old)
print(f"overwrite flag, .to(torch.float64): tied {is_tied(overwritten)},", end=" ")
print(f"reused module tied {stack_is_tied(overwritten_stack)}")
print(f"overwrite flag, .to(torch.float32): tied {is_tied(unchanged)}, half-tie {half_tie}")
wrapped_kept = wrapped.embed.weight is wrapped_original
print(f"overwrite flag, to a TwoTensor: same object {wrapped_kept},", end=" ")
print(f"tied {is_tied(wrapped)}, the object is now a {type(wrapped_original).__name__}")
plain_swapped = plain.embed.weight is plain_original
print(f"overwrite flag, to a plain subclass: same object {plain_swapped}, tied {is_tied(plain)}")

# 3. Another flag makes _apply, and load_state_dict (assign=True or not), swap the new tensor into
#    the old Parameter object (torch.utils.swap_tensors): the object stays, and with it the tie.
buffer = io.BytesIO()
torch.save(TiedPair().state_dict(), buffer)
checkpoint = torch.load(io.BytesIO(buffer.getvalue()))  # plain: state_dict() detaches
swapped = TiedPair()
original = swapped.embed.weight
swap_loaded, default_loaded, swap_pair = TiedPair(), TiedPair(), TiedPair()
to_float64_swap, given_swap, _ = noting(torch.float64)
before_load = swap_loaded.embed.weight
swap = torch.utils.swap_tensors
previous = torch.__future__.get_swap_module_params_on_conversion()
torch.__future__.set_swap_module_params_on_conversion(True)
try:
    swapped.to("meta")
    swap_pair._apply(to_float64_swap)  # swapped in: the second call gets it converted too
    swap_loaded.load_state_dict(checkpoint, assign=True)
    with mock.patch.object(torch.utils, "swap_tensors", wraps=swap) as swap_spy:
        default_loaded.load_state_dict(checkpoint)  # assign=False: swapped as well
finally:
    torch.__future__.set_swap_module_params_on_conversion(previous)
swap_keeps_object = swapped.embed.weight is original and original.is_meta
# A swap, not a copy: the old object now holds the checkpoint's own memory.
on_checkpoint = same_memory(before_load, checkpoint["out.weight"])
same_after_load = swap_loaded.embed.weight is before_load
print(f"swap flag, .to('meta'): same object {swap_keeps_object}, tied {is_tied(swapped)}")
print(
    f"swap flag, load_state_dict(assign=True): same object {same_after_load},",
    f"tied {is_tied(swap_loaded)}, on the checkpoint's memory {on_checkpoint}",
)
print(f"swap flag, default load_state_dict: swapped {swap_spy.called}")
print("swap flag, the tied Parameter as the conversion gets it, to float64:", given_swap)

now_float64 = before_conversion.dtype == torch.float64  # the same object, its data replaced
assert kept_object and now_float64  # witness: to-keeps-parameter-object
assert buffer_untied and masked[1].mask.dtype == torch.float64  # witness: buffer-replaced
assert compatible_float64 and not compatible_meta  # witness: compatible-kinds
assert data_refuses_meta  # witness: data-refuses-meta
assert new_on_meta and not is_tied(on_meta)  # witness: meta-unties
converted_first = ["cpu torch.float32", "cpu torch.float64"]
swap_tied = is_tied(swap_pair)
assert given == given_swap == converted_first and swap_tied  # witness: second-call-converted
one_object_twice = len(given) == 2 and given_objects[0] is given_objects[1]
once_per_holder = len(calls_pair) == 2 and len(calls_embed) == 1
assert one_object_twice and once_per_holder  # witness: twice-per-conversion
old_twice = meta_objects[0] is meta_original and second_got_old
assert old_twice and given_meta == ["cpu torch.float32"] * 2  # witness: second-call-unconverted
new_stack_weight = overwritten_stack[0].weight is not overwritten_stack_weight
float64_stack = overwritten_stack[0].weight.dtype == torch.float64 and new_stack_weight
stacks_converted = stack_converted and stack_materialized and float64_stack
stacks = (stack, stack_on_meta, overwritten_stack)
assert stacks_converted and all(map(stack_is_tied, stacks))  # witness: reused-module-stays-tied
assert tied_when_built and not is_tied(built_on_meta)  # witness: to-empty-unties
assert is_tied(emptied_on_cpu)  # witness: cpu-to-empty-keeps-tie
assert new_memory  # witness: cpu-to-empty-new-memory
assert fill_nan and all_nan  # witness: to-empty-values-not-kept
overwrite_unties = new_after_overwrite and not is_tied(overwritten) and separate_copies
assert overwrite_unties and half_tie  # witness: overwrite-flag-unties
swapped_in = type(wrapped_original) is TwoTensor  # swap_tensors changed the object's class
traceable = hasattr(TwoTensor, "__tensor_flatten__") and hasattr(TwoTensor, "__tensor_unflatten__")
wrapper_kept = wrapped_kept and swapped_in and is_tied(wrapped)
plain_replaced = not plain_swapped and not is_tied(plain)
assert wrapper_kept and traceable and plain_replaced  # witness: wrapper-subclass-swaps
assert swap_keeps_object and is_tied(swapped)  # witness: swap-flag-keeps-tie
swap_load_kept = same_after_load and on_checkpoint and is_tied(swap_loaded)
assert swap_load_kept and swap_spy.called  # witness: swap-flag-load-keeps-tie

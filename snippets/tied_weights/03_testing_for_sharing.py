"""Testing two tensors for sharing: identity, then memory, and where a memory address misleads."""

import io

import torch
from torch import nn
from torch.testing._internal.two_tensor import TwoTensor

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


def same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Both live in one block of memory, which says nothing about which elements."""
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def has_memory(t: torch.Tensor) -> bool:
    """Elements in memory of its own: not empty, not on meta, not a wrapper subclass. A view
    with elements has its base's address plus an offset, so test the storage's address, not the
    view's."""
    try:
        return t.numel() > 0 and t.untyped_storage().data_ptr() != 0
    except RuntimeError:  # a wrapper subclass's storage may have no address to read
        return False


def same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """One tensor under two names: the same first element, read the same way."""
    if not (has_memory(a) and has_memory(b)):
        return a is b  # no memory of its own behind the address

    def layout(t: torch.Tensor) -> tuple:  # how the elements are read, from the first one on
        return (t.device, t.dtype, t.shape, t.stride(), t.is_conj(), t.is_neg())

    return a.data_ptr() == b.data_ptr() and layout(a) == layout(b)


# The half-tie that load_state_dict(assign=True) leaves: two Parameter objects on one memory.
buffer = io.BytesIO()
torch.save(TiedPair().to(device).state_dict(), buffer)
half_tied = TiedPair()
half_tied.load_state_dict(torch.load(io.BytesIO(buffer.getvalue())), assign=True)
out_weight, embed_weight = half_tied.out.weight, half_tied.embed.weight
identity_says, data_says = out_weight is embed_weight, same_tensor(out_weight, embed_weight)
print(f"half-tied pair: `is` says {identity_says}, same_tensor() says {data_says}")

# A view can start at the same address as its base: the address alone does not make a tie.
weight = half_tied.out.weight.detach()
row_zero = weight[0]
row_zero_same_address = row_zero.data_ptr() == weight.data_ptr()
row_zero_tensor = same_tensor(weight, row_zero)
print(f"weight[0]: same data_ptr() {row_zero_same_address}, same_tensor() {row_zero_tensor}")
# So can a view that reads the same elements another way: conj() of a complex tensor.
c = torch.tensor([1 + 2j, 3 - 1j])
conj_same_address, conj_tensor = c.conj().data_ptr() == c.data_ptr(), same_tensor(c, c.conj())
print(f"c.conj(): same data_ptr() {conj_same_address}, same_tensor() {conj_tensor}")

# Two separate parameters cut from one flat buffer: one storage, no element in common.
flat = torch.zeros(2, 8)
first, second = nn.Parameter(flat[0]), nn.Parameter(flat[1])
with torch.no_grad():
    first.fill_(1.0)
second_unchanged = bool((second == 0).all())
flat_storage, flat_tensor = same_storage(first, second), same_tensor(first, second)
print(f"flat buffer: same storage {flat_storage}, same_tensor() {flat_tensor}", end=", ")
print(f"a write into one shows in the other: {not second_unchanged}")

# Two separate tensors without memory behind them: no elements, or on the meta device.
empty = [nn.Parameter(torch.empty(0, 4)) for _ in range(2)]  # on the CPU
on_meta = [nn.Parameter(torch.empty(2, 4, device="meta")) for _ in range(2)]
addresses = [p.data_ptr() for p in empty + on_meta]
print("data_ptr() of two empty and two meta tensors:", addresses)
separate = empty[0] is not empty[1] and on_meta[0] is not on_meta[1]
look_shared = same_storage(*empty) and same_storage(*on_meta)
guarded = same_tensor(*empty) or same_tensor(*on_meta)
print(f"separate tensors: {separate}, same storage: {look_shared}, same_tensor(): {guarded}")
# A wrapper subclass keeps its elements in the plain tensors it wraps: its own address is 0.
x, y = TwoTensor(torch.zeros(3), torch.zeros(3)), TwoTensor(torch.ones(3), torch.ones(3))
wrapper_addresses, wrapper_tensor = [x.data_ptr(), y.data_ptr()], same_tensor(x, y)
print(f"two separate TwoTensors: data_ptr() {wrapper_addresses}, same_tensor() {wrapper_tensor}")
# Views of them have an address that is not 0 (an offset from 0), so the test looks at storage.
meta_views, wrapper_views = [t[1:] for t in on_meta], [t[1:] for t in (x, y)]
view_addresses = [v.data_ptr() for v in meta_views + wrapper_views]
views_tensor = same_tensor(*meta_views) or same_tensor(*wrapper_views)
print(f"views [1:] of them: data_ptr() {view_addresses}, same_tensor() {views_tensor}")
# Empty views of two real tensors: both have the address 0, though each one's storage has a real
# address. So same_tensor() checks the element count before it compares addresses.
empty_views = torch.zeros(4)[0:0], torch.ones(8)[5:5]
empty_view_addresses = [v.data_ptr() for v in empty_views]
real_storages = all(v.untyped_storage().data_ptr() != 0 for v in empty_views)
empty_views_tensor = same_tensor(*empty_views)
print(f"two empty views of real memory: data_ptr() {empty_view_addresses}", end=", ")
print(f"same_tensor() {empty_views_tensor}")
# The fallback to `is` still finds one tensor compared with itself.
each_itself = same_tensor(on_meta[0], on_meta[0]) and same_tensor(x, x)
each_itself = each_itself and same_tensor(meta_views[0], meta_views[0])
each_itself = each_itself and same_tensor(empty_views[0], empty_views[0])
each_itself = each_itself and same_tensor(empty[0], empty[0])
each_itself = each_itself and same_tensor(wrapper_views[0], wrapper_views[0])
try:  # a wrapper subclass has no storage of its own to compare
    same_storage(x, y)
    storage_raises = False
except RuntimeError as error:
    print("same_storage() on two TwoTensors: RuntimeError:", error)
    storage_raises = "invalid python storage" in str(error)

assert not identity_says and data_says  # witness: is-misses-half-tie
assert row_zero_same_address and not row_zero_tensor  # witness: layout-needed
assert conj_same_address and c.conj().is_conj() and not conj_tensor  # witness: conj-view
assert flat_storage and second_unchanged and not flat_tensor  # witness: flat-buffer
assert separate and addresses == [0, 0, 0, 0] and look_shared  # witness: address-zero
assert x.storage_offset() == y.storage_offset() == 0  # each starts at the start of its storage
assert x.numel() == 3 and wrapper_addresses == [0, 0]  # witness: wrapper-address-zero
says_separate = not flat_tensor and not guarded and not wrapper_tensor and not views_tensor
says_separate = says_separate and not empty_views_tensor
offset_addresses = all(a != 0 for a in view_addresses)
from_offsets = [v.storage_offset() * v.element_size() for v in meta_views + wrapper_views]
built_on_offsets = TwoTensor(torch.zeros(6)[2:], torch.ones(6)[2:])  # no view of a TwoTensor
built_address = built_on_offsets.data_ptr() == 2 * built_on_offsets.element_size()
by_offset = view_addresses == from_offsets and offset_addresses and built_address
assert by_offset  # a view of memoryless tensors: its offset times the element size
assert empty_view_addresses == [0, 0] and real_storages  # an empty view: address 0, real storage
assert data_says and says_separate and each_itself and offset_addresses  # witness: guarded-test
assert storage_raises  # witness: wrapper-storage-raises

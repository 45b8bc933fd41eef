"""Testing two tensors for sharing: identity, then memory, and where a memory address misleads."""

import io

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight


def storage_address(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


def same_address(a: torch.Tensor, b: torch.Tensor) -> bool:
    return storage_address(a) == storage_address(b)


def shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Trust a storage address only where there is memory behind it."""
    if a.numel() == 0 or b.numel() == 0 or a.is_meta or b.is_meta:
        return a is b
    return same_address(a, b)


# The half-tie that load_state_dict(assign=True) leaves: two Parameter objects on one memory.
buffer = io.BytesIO()
torch.save(TiedPair().to(device).state_dict(), buffer)
half_tied = TiedPair()
half_tied.load_state_dict(torch.load(io.BytesIO(buffer.getvalue())), assign=True)
out_weight, embed_weight = half_tied.out.weight, half_tied.embed.weight
identity_says = out_weight is embed_weight
memory_says = same_address(out_weight, embed_weight)
print(f"half-tied pair: `is` says {identity_says}, the storage address says {memory_says}")

# Two separate tensors without memory behind them: no elements, or on the meta device.
empty = [nn.Parameter(torch.empty(0, 4)) for _ in range(2)]  # on the CPU
on_meta = [nn.Parameter(torch.empty(2, 4, device="meta")) for _ in range(2)]
addresses = [storage_address(p) for p in empty + on_meta]
print("storage addresses of two empty and two meta tensors:", addresses)
separate = empty[0] is not empty[1] and on_meta[0] is not on_meta[1]
look_shared = same_address(*empty) and same_address(*on_meta)
guarded = shares_memory(*empty) or shares_memory(*on_meta)
print(f"separate tensors: {separate}, same address: {look_shared}, shares_memory(): {guarded}")

assert not identity_says and memory_says  # witness: is-misses-half-tie
assert separate and addresses == [0, 0, 0, 0] and look_shared  # witness: address-zero
assert shares_memory(out_weight, embed_weight) and not guarded  # witness: guarded-test

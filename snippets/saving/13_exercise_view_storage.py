"""Exercise: saving a small view of a big tensor writes the whole big tensor."""

import io

import torch


def saved_bytes(obj) -> int:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return len(buffer.getvalue())


big = torch.zeros(100_000)  # 400,000 bytes of float32
big_elements = big.numel()
first_ten = big[:10]  # a view: it shares big's storage

view_bytes = saved_bytes(first_ten)
clone_bytes = saved_bytes(first_ten.clone())  # a tensor with its own 40-byte storage
storage_bytes = first_ten.untyped_storage().nbytes()
print(f"the view's storage holds {storage_bytes} bytes")
print(f"saving the view writes {view_bytes} bytes, saving a clone writes {clone_bytes} bytes")

# Loading the view gives back a view of a restored 100,000-element storage.
buffer = io.BytesIO()
torch.save(first_ten, buffer)
buffer.seek(0)
loaded = torch.load(buffer)
loaded_storage_elements = loaded.untyped_storage().nbytes() // loaded.element_size()
print(f"the loaded tensor has {loaded.numel()} elements on a storage of {loaded_storage_elements}")

# Views saved together come back as views of one storage.
buffer = io.BytesIO()
torch.save({"big": big, "first_ten": first_ten}, buffer)
buffer.seek(0)
both = torch.load(buffer)
still_shared = both["first_ten"].data_ptr() == both["big"].data_ptr()
print("saved together, the slice is still a view of the big tensor:", still_shared)

assert storage_bytes == 400_000 and view_bytes > 400_000  # witness: whole-storage-written
clone_storage_bytes = first_ten.clone().untyped_storage().nbytes()
assert clone_storage_bytes == 40  # witness: clone-owns-storage
assert loaded.numel() == 10 and loaded_storage_elements == 100_000  # witness: loads-whole-storage
assert still_shared  # witness: views-stay-views

"""Exercise: resume a shuffling DataLoader in the middle of an epoch, with the same batch order."""

import itertools

import torch
from torch.utils.data import DataLoader, TensorDataset

dataset = TensorDataset(torch.arange(12))


def make_loader(generator: torch.Generator) -> DataLoader:
    return DataLoader(dataset, batch_size=4, shuffle=True, generator=generator)


# Uninterrupted: two epochs of three batches.
generator = torch.Generator().manual_seed(0)
loader = make_loader(generator)
straight = [batch.tolist() for epoch in range(2) for (batch,) in loader]

# Interrupted after two batches of the first epoch. The checkpoint records the generator state
# taken *before* the epoch's iterator was created, and how many batches were consumed.
generator = torch.Generator().manual_seed(0)
loader = make_loader(generator)
seen = []
epoch_start_state = generator.get_state()
for batch_index, (batch,) in enumerate(loader):
    seen.append(batch.tolist())
    if batch_index == 1:
        checkpoint = {"epoch": 0, "batches_done": 2, "epoch_start_rng": epoch_start_state}
        break

# Fresh objects, as in a new process: replay the epoch's shuffle, skip what was consumed.
generator = torch.Generator().manual_seed(12345)
loader = make_loader(generator)
generator.set_state(checkpoint["epoch_start_rng"])
for epoch in range(checkpoint["epoch"], 2):
    batches = iter(loader)  # draws a base seed; the first batch then draws the permutation
    if epoch == checkpoint["epoch"]:
        batches = itertools.islice(batches, checkpoint["batches_done"], None)  # loads, drops 2
    seen.extend(batch.tolist() for (batch,) in batches)

# Why the state from before the epoch: creating the iterator already draws from the generator,
# one int64, the base seed that worker processes would get. The permutation comes later.
state = generator.get_state()
batches = iter(loader)
after_iter = generator.get_state()
replay = torch.Generator()
replay.set_state(state)
torch.empty((), dtype=torch.int64).random_(generator=replay)  # one base seed, as the loader draws
iter_draws_a_base_seed = torch.equal(replay.get_state(), after_iter)
next(batches)
first_batch_draws = not torch.equal(generator.get_state(), after_iter)
print("creating an epoch's iterator draws one base seed:", iter_draws_a_base_seed)
print("the first batch then draws the permutation:", first_batch_draws)

print("uninterrupted:", straight)
print("resumed:      ", seen)
same_order = seen == straight
print("same batches in the same order:", same_order)

assert iter_draws_a_base_seed and first_batch_draws  # witness: iterator-draws
assert same_order and len(straight) == 6  # witness: same-order

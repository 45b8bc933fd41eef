"""Exercise: resume a shuffling DataLoader in the middle of an epoch, with the same batch order."""

import itertools

import torch
from torch.utils.data import DataLoader, TensorDataset


class CountingDataset(TensorDataset):
    """A TensorDataset that counts the items it loads in this process."""

    loads = 0

    def __getitem__(self, index):
        CountingDataset.loads += 1
        return super().__getitem__(index)


class NoisyDataset(TensorDataset):
    """A TensorDataset that draws a random number with each item, as augmentation would."""

    def __getitem__(self, index):
        return super().__getitem__(index)[0], torch.rand(())


dataset = CountingDataset(torch.arange(12))


def make_loader(generator: torch.Generator, **workers) -> DataLoader:
    return DataLoader(dataset, batch_size=4, shuffle=True, generator=generator, **workers)


def shuffled(state: torch.Tensor, base_seed: bool) -> tuple[list, torch.Tensor]:
    """An epoch's batches shuffled from a generator state, after a base seed or not; its state."""
    replay = torch.Generator().set_state(state)
    if base_seed:
        torch.empty((), dtype=torch.int64).random_(generator=replay)
    return torch.randperm(len(dataset), generator=replay).view(-1, 4).tolist(), replay.get_state()


if __name__ == "__main__":  # under spawn or forkserver, starting workers imports this file again
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
    loads_before = CountingDataset.loads
    for epoch in range(checkpoint["epoch"], 2):
        batches = iter(loader)  # draws a base seed; the first batch then draws the permutation
        if epoch == checkpoint["epoch"]:
            batches = itertools.islice(batches, checkpoint["batches_done"], None)  # loads, drops 2
        seen.extend(batch.tolist() for (batch,) in batches)
    resumed_loads = CountingDataset.loads - loads_before  # both epochs, skipped batches too

    # Why the state from before the epoch: creating the iterator already draws from the generator,
    # one int64, the base seed that worker processes would get. Without workers, the permutation
    # comes with the first batch.
    state = generator.get_state()
    batches = iter(loader)
    after_iter = generator.get_state()
    replay = torch.Generator().set_state(state)  # draws one base seed, as the loader does
    torch.empty((), dtype=torch.int64).random_(generator=replay)
    iter_draws_a_base_seed = torch.equal(replay.get_state(), after_iter)
    next(batches)  # the state is now that of a base seed and then the permutation, replayed
    first_batch_draws = torch.equal(generator.get_state(), shuffled(state, base_seed=True)[1])
    print("creating an epoch's iterator draws one base seed:", iter_draws_a_base_seed)
    print("the first batch then draws the permutation:", first_batch_draws)

    print("uninterrupted:", straight)
    print("resumed:      ", seen)
    same_order = seen == straight
    print("same batches in the same order:", same_order)
    kept = sum(len(batch) for batch in seen[2:])  # the batches seen after resuming
    print(f"items the resumed run loaded: {resumed_loads}, items it kept: {kept}")

    assert iter_draws_a_base_seed and first_batch_draws  # witness: iterator-draws
    assert same_order and len(straight) == 6  # witness: same-order
    assert resumed_loads == 2 * len(dataset) > kept  # witness: skipping-loads

    # A sampler that starts at the offset loads no skipped items, but the worker's stream starts
    # afresh: for the first batch after the offset, it draws what run 1 drew for the first batch.
    noisy = NoisyDataset(torch.arange(12))
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    loader = DataLoader(noisy, batch_size=4, shuffle=True, generator=generator, num_workers=1)
    noisy_straight = list(loader)
    order = sum(shuffled(state, base_seed=True)[0][2:], [])  # the items after two batches
    generator = torch.Generator().set_state(state)  # the same base seed for the worker
    loader = DataLoader(noisy, batch_size=4, sampler=order, generator=generator, num_workers=1)
    (offset,) = list(loader)  # the third batch, the only one left
    same_items = torch.equal(offset[0], noisy_straight[2][0])
    draws_of_first_batch = torch.equal(offset[1], noisy_straight[0][1])
    other_draws = not torch.equal(offset[1], noisy_straight[2][1])
    print("sampler from the offset: same items:", same_items, "- same draws:", not other_draws)
    print("  the draws of the epoch's first batch:", draws_of_first_batch)

    # With a worker, iter() already draws the permutation too: the worker is sent the first
    # batches' indices at once. The first batch draws nothing more.
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    batches = iter(make_loader(generator, num_workers=1))
    after_iter = generator.get_state()
    next(batches)
    workers_draw_in_iter = torch.equal(after_iter, shuffled(state, base_seed=True)[1])
    first_batch_draws_nothing = torch.equal(generator.get_state(), after_iter)
    print("with a worker, iter() draws the base seed and the permutation:", workers_draw_in_iter)
    del batches  # ends its worker

    # Persistent workers: only epoch 0 creates an iterator and draws a base seed. A run resumed
    # at the start of epoch 1 creates one there, draws a base seed and shuffles differently.
    generator = torch.Generator().manual_seed(0)
    loader = make_loader(generator, num_workers=1, persistent_workers=True)
    epoch_starts, persistent = [], []
    for epoch in range(2):
        epoch_starts.append(generator.get_state())
        persistent.append([batch.tolist() for (batch,) in loader])
    generator = torch.Generator().set_state(epoch_starts[1])
    loader = make_loader(generator, num_workers=1, persistent_workers=True)
    resumed = [batch.tolist() for (batch,) in loader]
    print("persistent workers, epoch 1 uninterrupted:", persistent[1])
    print("persistent workers, epoch 1 resumed:      ", resumed)

    assert same_items and other_draws and draws_of_first_batch  # witness: offset-draws-differ
    assert workers_draw_in_iter and first_batch_draws_nothing  # witness: workers-draw-in-iter
    assert (  # witness: persistent-resume-differs
        persistent[1] == shuffled(epoch_starts[1], base_seed=False)[0]
        and resumed == shuffled(epoch_starts[1], base_seed=True)[0] != persistent[1]
    )

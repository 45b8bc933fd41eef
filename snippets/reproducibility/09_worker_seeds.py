"""DataLoader workers: which generators each worker seeds, from what, and which ones it misses."""

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info


class Draws(Dataset):
    """Each item reports its worker, the worker's seeds and one draw from each generator."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)  # a generator object, made in the main process

    def __len__(self) -> int:
        return 4  # with 2 workers, each worker loads 2 items per epoch

    def __getitem__(self, index: int) -> dict:
        info = get_worker_info()
        return {
            "worker": info.id,
            "info seed": info.seed,
            "torch seed": torch.initial_seed(),
            "torch": torch.rand(()).item(),
            "random": random.random(),
            "numpy": np.random.random(),
            "own rng": self.rng.random(),
        }


def reseed_own_rng(worker_id: int) -> None:
    """A worker_init_fn: give this worker's copy of the dataset a generator of its own."""
    info = get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed)


def two_epochs(persistent: bool, init_fn=None) -> tuple[list, torch.Tensor]:
    """Each epoch's draws by worker id, and the state of the loader's generator at the end."""
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(
        Draws(),
        batch_size=None,
        num_workers=2,
        generator=generator,
        persistent_workers=persistent,
        worker_init_fn=init_fn,
    )
    epochs = []
    for _ in range(2):
        items = list(loader)
        by_worker = [[item for item in items if item["worker"] == w] for w in (0, 1)]
        epochs.append([{key: [item[key] for item in own] for key in own[0]} for own in by_worker])
    return epochs, generator.get_state()  # returning frees the loader: its workers end


def seeded_from(base_seed: int, worker: int, draws: int) -> tuple[list, list, list]:
    """The first draws of torch, random and NumPy, seeded as a worker seeds them."""
    torch_ = torch.Generator().manual_seed(base_seed + worker)
    python = random.Random(base_seed + worker)
    # NumPy's SeedSequence hash of the worker id and the base seed's two 32-bit halves
    halves = [base_seed & 0xFFFFFFFF, base_seed >> 32]
    numpy = np.random.RandomState(np.random.SeedSequence([worker, *halves]).generate_state(4))
    return (
        [torch.rand((), generator=torch_).item() for _ in range(draws)],
        [python.random() for _ in range(draws)],
        numpy.random_sample(draws).tolist(),
    )


if __name__ == "__main__":  # under spawn or forkserver, starting workers imports this file again
    # Replay the loader's generator: creating an iterator draws one int64 from it, the base seed.
    replay = torch.Generator().manual_seed(0)
    base, state_after = [], []
    for _ in range(2):
        base.append(torch.empty((), dtype=torch.int64).random_(generator=replay).item())
        state_after.append(replay.get_state())

    fresh, fresh_state = two_epochs(persistent=False)
    kept, kept_state = two_epochs(persistent=True)
    reseeded, _ = two_epochs(persistent=False, init_fn=reseed_own_rng)

    def seeds(epoch: list) -> str:
        """The workers' torch seeds, written as 'base seed #n + [their offsets]'."""
        first = [epoch[w]["torch seed"][0] for w in (0, 1)]
        n = base.index(first[0]) + 1 if first[0] in base else "?"
        return f"#{n} + {[seed - first[0] for seed in first]}"

    print("each worker's torch seed, as base seed #n + worker id:")
    for name, epochs in (("new workers each epoch ", fresh), ("persistent_workers=True", kept)):
        print(f"  {name}  epoch 0: {seeds(epochs[0])}  epoch 1: {seeds(epochs[1])}")

    # (a) In every epoch, each worker seeds torch and random with base seed + worker id, and
    # NumPy with a SeedSequence hash of the two numbers.
    worker_seeds = all(
        epoch[w]["torch seed"] == epoch[w]["info seed"] == [base[e] + w] * 2
        for e, epoch in enumerate(fresh)
        for w in (0, 1)
    )
    streams_seeded = all(
        (epoch[w]["torch"], epoch[w]["random"], epoch[w]["numpy"]) == seeded_from(base[e], w, 2)
        for e, epoch in enumerate(fresh)
        for w in (0, 1)
    )
    print("torch, random and NumPy draw as seeded from those numbers:", streams_seeded)

    # A loader without a generator draws the base seed from the global one; then put that back.
    global_state = torch.get_rng_state()
    first_item = next(iter(DataLoader(Draws(), batch_size=None, num_workers=2)))
    global_copy = torch.Generator().set_state(global_state)
    global_base = torch.empty((), dtype=torch.int64).random_(generator=global_copy).item()
    torch.set_rng_state(global_state)
    from_global = first_item["torch seed"] - first_item["worker"] == global_base
    print("without a generator, the base seed comes from the global one:", from_global)

    # (b) Persistent workers: one base seed in all, and all three streams run on into epoch 1.
    kept_seeds = all(kept[e][w]["torch seed"] == [base[0] + w] * 2 for e in (0, 1) for w in (0, 1))
    runs_on = all(
        (kept[1][w]["torch"], kept[1][w]["random"], kept[1][w]["numpy"])
        == tuple(draws[2:] for draws in seeded_from(base[0], w, 4))
        for w in (0, 1)
    )
    print("persistent workers continue their epoch-0 streams in epoch 1:", runs_on)

    # (c) The dataset's own generator: the same copy in every worker and every epoch, unless
    # worker_init_fn reseeds it from the worker's seed.
    print("draws from the dataset's own Generator, worker 0 | worker 1:")
    for name, epochs in (("made in __init__", fresh), ("reseeded in worker_init_fn", reseeded)):
        for e in (0, 1):
            draws = [np.round(epochs[e][w]["own rng"], 3).tolist() for w in (0, 1)]
            print(f"  {name + ',':27} epoch {e}: {draws[0]} | {draws[1]}")
    untouched = np.random.default_rng(0).random(2).tolist()
    own_rng_copied = all(epoch[w]["own rng"] == untouched for epoch in fresh for w in (0, 1))
    own_rng_reseeded = all(
        epoch[w]["own rng"] == np.random.default_rng(base[e] + w).random(2).tolist()
        for e, epoch in enumerate(reseeded)
        for w in (0, 1)
    )
    workers_differ = reseeded[0][0]["own rng"] != reseeded[0][1]["own rng"]

    assert worker_seeds and torch.equal(fresh_state, state_after[1])  # witness: new-base-seed
    assert streams_seeded  # witness: streams-seeded
    assert from_global  # witness: global-base-seed
    assert kept_seeds and torch.equal(kept_state, state_after[0])  # witness: persistent-one-seed
    assert runs_on  # witness: persistent-runs-on
    assert own_rng_copied  # witness: own-rng-copied
    assert own_rng_reseeded and workers_differ  # witness: own-rng-reseeded

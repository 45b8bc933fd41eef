"""Exercise: rebuild the second part of a seeded model without building the first part again."""

import copy

import torch
from torch import nn


def encoder(swapped: bool = False) -> list[nn.Module]:
    make = [lambda: nn.Embedding(1, 15), lambda: nn.Linear(15, 8)]  # 15 normal numbers: odd
    return [build() for build in (make[::-1] if swapped else make)]


def decoder() -> nn.Sequential:
    return nn.Sequential(nn.Embedding(3, 1), nn.Linear(8, 3))  # a small normal draw first


def same(first: nn.Module, second: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(first.parameters(), second.parameters()))


def program(swapped: bool = False) -> tuple[torch.Tensor, nn.Module]:
    """Seed, encoder, decoder: the stream's state just before the decoder, and the decoder."""
    torch.manual_seed(0)
    encoder(swapped)
    state = torch.get_rng_state()  # a copy: later draws do not change it
    return state, decoder()


state, original = program()
# Later, elsewhere in the program (other draws happened in between): rebuild the decoder alone.
torch.randn(3)  # draws in between, a small normal one among them
torch.set_rng_state(state)
from_state = decoder()
torch.manual_seed(0)
from_seed_alone = decoder()
print("decoder rebuilt from the saved state: same weights:", same(from_state, original))
print("decoder rebuilt from seed 0 alone: same weights:", same(from_seed_alone, original))

# The encoder's layers swapped: the same amount of the stream used, but the odd normal draw comes
# last, and its unused spare number is another one. The saved states tell the two apart.
swapped_state, swapped_original = program(swapped=True)
torch.set_rng_state(swapped_state)
swapped_from_state = decoder()
torch.set_rng_state(state)
from_other_state = decoder()
rows, swapped_rows = (m[0].weight.detach().flatten() for m in (original, swapped_original))
rounded = [[round(x, 4) for x in r.tolist()] for r in (rows, swapped_rows)]
print("encoder swapped: decoder's Embedding", rounded[0], "becomes", rounded[1])
spare_only = bool(rows[0] != swapped_rows[0]) and torch.equal(rows[1:], swapped_rows[1:])
linear_same = same(swapped_original[1], original[1])
print("  its Linear is the same:", linear_same)
print("  its own saved state rebuilds it:", same(swapped_from_state, swapped_original))
print("  the original program's saved state does too:", same(from_other_state, swapped_original))

# Simplest of all: keep a copy of the decoder's initial weights, and load them into a new one.
# A copy: the tensors of state_dict() share memory with the parameters, which training changes.
trained = copy.deepcopy(original)  # a decoder that goes on to train
initial_weights = copy.deepcopy(trained.state_dict())
not_a_copy = trained.state_dict()
shares_memory = not_a_copy["0.weight"].data_ptr() == trained[0].weight.data_ptr()
with torch.no_grad():
    for parameter in trained.parameters():
        parameter.add_(1.0)  # what a training step does to them, in place
loaded, from_not_a_copy = decoder(), decoder()
loaded.load_state_dict(initial_weights)
from_not_a_copy.load_state_dict(not_a_copy)
print("after a step: a copy of the initial state_dict gives them back:", same(loaded, original))
print("  the state_dict itself, not copied, does:", same(from_not_a_copy, original))

# torch.get_rng_state() is the state of the default CPU generator, not of a GPU's.
cpu_generator_state = torch.equal(torch.get_rng_state(), torch.default_generator.get_state())
print("the saved state is the CPU generator's:", cpu_generator_state)

assert same(from_state, original)  # witness: state-rebuilds-decoder
assert not same(from_seed_alone, original)  # witness: seed-alone-is-not-enough
copy_needed = same(loaded, original) and not same(from_not_a_copy, original)
assert copy_needed and shares_memory  # witness: state-dict-rebuilds-decoder
own_state_rebuilds = same(swapped_from_state, swapped_original)
state_holds_spare = own_state_rebuilds and not same(from_other_state, swapped_original)
assert spare_only and linear_same and state_holds_spare  # witness: state-holds-spare
on_cpu = torch.default_generator.device.type == "cpu"
assert cpu_generator_state and on_cpu  # witness: state-is-cpu-generators

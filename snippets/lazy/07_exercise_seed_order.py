"""Exercise: with the same seed, does a lazy model start from the same weights as its eager twin?"""

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def lazy_then_dry_run(*layers: nn.Module) -> nn.Sequential:
    model = nn.Sequential(*layers)
    # Zeros: the dry run itself draws no random numbers. On the CPU, like the eager twin: a model
    # moved to a GPU first would draw its weights from the GPU's generator, another stream.
    model(torch.zeros(1, 5))  # training mode is harmless here: no dropout, no batch norm
    return model


# Every layer lazy: initialization only moves from construction to the dry run, in the same order.
torch.manual_seed(0)
all_lazy = lazy_then_dry_run(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
torch.manual_seed(0)
eager = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
all_lazy_matches = same_weights(all_lazy, eager)

# Lazy first layer, eager second: the second layer now draws its numbers first.
torch.manual_seed(0)
mixed = lazy_then_dry_run(nn.LazyLinear(4), nn.ReLU(), nn.Linear(4, 2))
mixed_matches = same_weights(mixed, eager)
# Eager first layer, lazy second: the layers draw in the eager model's order.
torch.manual_seed(0)
lazy_last = lazy_then_dry_run(nn.Linear(5, 4), nn.ReLU(), nn.LazyLinear(2))
lazy_last_matches = same_weights(lazy_last, eager)
# The eager layer drew first: it holds what a Linear(4, 2) built right after the seed gets.
torch.manual_seed(0)
eager_drew_first = same_weights(mixed[2], nn.Linear(4, 2))

# The numbers come from the generator of the device the layer sits on at its dry run: on meta,
# which has none, materializing leaves the CPU's stream alone; on the CPU, it draws from it.
cpu_state = torch.get_rng_state()
nn.LazyLinear(4, device="meta")(torch.zeros(1, 5, device="meta"))
meta_left_cpu_stream = torch.equal(cpu_state, torch.get_rng_state())
lazy_on_cpu = nn.LazyLinear(4)
construction_drew_nothing = torch.equal(cpu_state, torch.get_rng_state())  # it draws later...
lazy_on_cpu(torch.zeros(1, 5))
cpu_drew_from_cpu_stream = not torch.equal(cpu_state, torch.get_rng_state())  # ...at the dry run

# Moved to a GPU before its dry run, a lazy model draws from the GPU's generator instead.
if device.type == "cuda":
    torch.manual_seed(0)
    cpu_state, gpu_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    on_gpu = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2)).to(device)
    on_gpu(torch.zeros(1, 5, device=device))
    gpu_draws_only = torch.equal(cpu_state, torch.get_rng_state()) and not torch.equal(
        gpu_state, torch.cuda.get_rng_state()
    )
    gpu_matches = same_weights(on_gpu.cpu(), eager)
    print("moved to the GPU first: drew from the GPU's generator only:", gpu_draws_only)
    print("moved to the GPU first, same weights as eager on the CPU:", gpu_matches)

print("all lazy, same weights as eager:", all_lazy_matches)
print("lazy first layer, eager second, same weights as eager:", mixed_matches)
print("eager first layer, lazy second, same weights as eager:", lazy_last_matches)
print("the eager layer got the first numbers after the seed:", eager_drew_first)
print("CPU stream untouched by a dry run on meta:", meta_left_cpu_stream)

assert all_lazy_matches  # witness: all-lazy-match
assert not mixed_matches  # witness: mixed-differ
assert lazy_last_matches  # witness: lazy-last-matches
assert eager_drew_first  # witness: eager-draws-first
draws_at_dry_run = construction_drew_nothing and cpu_drew_from_cpu_stream
assert meta_left_cpu_stream and draws_at_dry_run  # witness: draws-on-its-device
if device.type == "cuda":
    assert gpu_draws_only and not gpu_matches  # witness: gpu-generator-differs

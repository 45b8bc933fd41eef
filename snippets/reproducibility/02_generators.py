"""torch.Generator: a private random stream, unaffected by whatever else draws random numbers."""

import inspect

import torch
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

# With the global stream only, building a model in between shifts everything drawn after it.
torch.manual_seed(7)
global_alone = torch.randperm(10)
torch.manual_seed(7)
nn.Linear(100, 100)  # initializing its 10,100 parameters draws from the global generator
global_shifted = not torch.equal(torch.randperm(10), global_alone)
print("global stream: order changed by building a model in between:", global_shifted)


def dropout_mask(mask_device: torch.device, build_model=None) -> torch.Tensor:
    """A dropout mask drawn after seeding, from the default generator of the tensor's device."""
    torch.manual_seed(7)
    if build_model is not None:
        build_model()  # builds on the CPU, so it draws from the CPU's generator
    return nn.functional.dropout(torch.ones(20, device=mask_device), p=0.5).cpu()


def masks_shift(mask_device: torch.device, build_model=lambda: nn.Linear(100, 100)) -> bool:
    return not torch.equal(dropout_mask(mask_device), dropout_mask(mask_device, build_model))


cpu_masks_shift = masks_shift(torch.device("cpu"))
print("dropout on the CPU: masks changed by building a model in between:", cpu_masks_shift)
if device.type != "cpu":
    device_masks_shift = masks_shift(device)
    print(
        f"dropout on {device.type}: masks changed by building a model in between:",
        device_masks_shift,
    )

# The data order comes from its own generator; model construction uses the global one.
data_rng = torch.Generator().manual_seed(7)
order_alone = torch.randperm(10, generator=data_rng)

data_rng.manual_seed(7)
torch.manual_seed(0)
nn.Linear(100, 100)
order_after_model = torch.randperm(10, generator=data_rng)
order_unchanged = torch.equal(order_alone, order_after_model)
print("data order:", order_alone.tolist())
print("private stream: same order after building a model in between:", order_unchanged)

# Initializers take a generator too, so weights can be drawn from a stream of their own.
init_rng = torch.Generator().manual_seed(3)
layer_a, layer_b = nn.Linear(4, 2), nn.Linear(4, 2)
nn.init.xavier_uniform_(layer_a.weight, generator=init_rng)
torch.rand(1000)  # unrelated draws from the global stream
init_rng.manual_seed(3)
nn.init.xavier_uniform_(layer_b.weight, generator=init_rng)
same_init = torch.equal(layer_a.weight, layer_b.weight)
print("xavier_uniform_ with the same generator seed gives the same weights:", same_init)


def initialized_from_generator(skip_init: bool) -> nn.Linear:
    """A Linear layer, built with or without its own initialization, then initialized again."""
    layer = nn.utils.skip_init(nn.Linear, 100, 100) if skip_init else nn.Linear(100, 100)
    nn.init.xavier_uniform_(layer.weight, generator=torch.Generator().manual_seed(3))
    nn.init.zeros_(layer.bias)
    return layer


# The constructor draws from the global stream before nn.init draws from the generator.
# skip_init builds the layer without initializing it, so the global stream stays untouched.
cpu = torch.device("cpu")
rebuilt_shifts = masks_shift(cpu, lambda: initialized_from_generator(skip_init=False))
skip_init_shifts = masks_shift(cpu, lambda: initialized_from_generator(skip_init=True))
print("masks changed by a layer initialized again from a generator:", rebuilt_shifts)
print("masks changed by a layer built with skip_init, then initialized:", skip_init_shifts)

# No layer's constructor takes a generator, nor do dropout and many other samplers.
layers = [c for c in vars(nn).values() if isinstance(c, type) and issubclass(c, nn.Module)]
layers_taking_one = [c.__name__ for c in layers if "generator" in inspect.signature(c).parameters]
distributions = [
    c
    for c in vars(torch.distributions).values()
    if isinstance(c, type) and issubclass(c, torch.distributions.Distribution)
]
dropouts = [f for name, f in vars(nn.functional).items() if "dropout" in name]
samplers = dropouts + [nn.functional.gumbel_softmax]
samplers += [c.sample for c in distributions] + [c.rsample for c in distributions]
methods = {c.sample for c in distributions} | {c.rsample for c in distributions}
functions = len(set(samplers))  # subclasses share inherited methods: count each function once
assert functions == len(dropouts) + 1 + len(methods)  # the parts printed below add up
samplers_taking_one = sorted(  # a subclass's inherited method is named once, by its owner
    {f.__qualname__ for f in samplers if "generator" in inspect.signature(f).parameters}
)
print(
    f"of {len(layers)} layer classes in torch.nn, those whose constructor takes a generator:",
    layers_taking_one,
)
print(
    f"of {functions} functions ({len(dropouts)} dropout functions, gumbel_softmax and the",
    f"{len(methods)} distinct sample()/rsample() methods of {len(distributions)} distribution",
    "classes), those that take a generator:",
    samplers_taking_one,
)

# A generator's state can be saved and restored, which is what a checkpoint needs.
state = data_rng.get_state()
next_order = torch.randperm(10, generator=data_rng)
data_rng.set_state(state)
replayed = torch.equal(torch.randperm(10, generator=data_rng), next_order)
state_shape = tuple(state.shape)
print(
    f"get_state() is a {state.dtype} tensor of shape {state_shape}; "
    f"set_state replays the stream: {replayed}"
)

assert global_shifted  # witness: global-stream-shifts
assert cpu_masks_shift  # witness: cpu-masks-shift
if device.type == "cuda":
    assert not device_masks_shift  # witness: gpu-masks-unshifted
# From torch 2.14 on, Gamma's sample() and rsample() take a generator (make check-torch-versions).
gamma_from_2_14 = {"Gamma.sample", "Gamma.rsample"} if torch.__version__ >= "2.14" else set()
only_gamma = set(samplers_taking_one) == gamma_from_2_14
assert layers_taking_one == [] and only_gamma  # witness: no-generator-argument
assert order_unchanged  # witness: private-order-unchanged
assert same_init  # witness: init-generator
assert rebuilt_shifts and not skip_init_shifts  # witness: skip-init-keeps-stream
assert replayed and state.dtype == torch.uint8  # witness: state-replays
assert state_shape == (5056,)

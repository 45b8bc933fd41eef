"""Create the optimizer, and anything else that inspects parameters, after the dry run."""

import torch
from torch import nn


def build() -> nn.Sequential:
    return nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))


def weight_decay_groups(model: nn.Module) -> list[dict]:
    """A common recipe: decay matrices (weights), not vectors (biases)."""
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    vectors = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": matrices, "weight_decay": 0.01}, {"params": vectors, "weight_decay": 0.0}]


def matrices_of(model: nn.Module) -> list[nn.Parameter]:
    """The weights, which are matrices once the dry run has given them their shapes."""
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


# Too early, loudly: Adagrad allocates its state in its constructor.
try:
    torch.optim.Adagrad(build().parameters())
except ValueError as error:
    adagrad_message = str(error)
    print(f"Adagrad before the dry run: {type(error).__name__}: {adagrad_message[:60]}...")

# Muon checks in its constructor that every tensor it gets is a matrix: a placeholder is not yet.
try:
    torch.optim.Muon(matrices_of(build()))
except ValueError as error:
    muon_message = str(error)
    print(f"Muon before the dry run: {type(error).__name__}: {muon_message[:75]}...")
after_dry_run = build()
after_dry_run(torch.zeros(1, 20))
muon_accepts = len(torch.optim.Muon(matrices_of(after_dry_run)).param_groups[0]["params"]) == 2
print("Muon after the dry run, on the same two weights:", muon_accepts)

# Too early, but it happens to work: these optimizers only store references until their first
# step, when they build their state, and the dry run keeps the objects.
early_ones = {}
for optimizer_class in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop):
    lucky = build()
    too_soon = optimizer_class(lucky.parameters(), lr=0.1)
    no_state_yet = len(too_soon.state) == 0
    lucky(torch.zeros(1, 20))
    before = lucky[0].weight.detach().clone()
    lucky(torch.ones(4, 20)).pow(2).mean().backward()
    too_soon.step()
    early_ones[optimizer_class.__name__] = (
        no_state_yet
        and too_soon.param_groups[0]["params"][0] is lucky[0].weight
        and not torch.equal(before, lucky[0].weight)
        and (optimizer_class is torch.optim.SGD or len(too_soon.state) > 0)  # built at the step
    )
print("created before the dry run, still updates the weights:", early_ones)

# Too early, silently: a placeholder reports ndim == 1, so every weight lands in the no-decay group.
model = build()
placeholder_ndim = model[0].weight.ndim
early = weight_decay_groups(model)
decayed_too_early = len(early[0]["params"])
print(
    f"placeholder ndim = {placeholder_ndim}; "
    f"tensors decayed if grouped too early: {decayed_too_early}"
)

# The right order: dry run, then group parameters and create the optimizer.
model(torch.zeros(1, 20))
groups = weight_decay_groups(model)
decayed = len(groups[0]["params"])
optimizer = torch.optim.AdamW(groups, lr=1e-3)
print(
    f"tensors decayed when grouped after the dry run: {decayed} of {len(list(model.parameters()))}"
)

before = model[0].weight.detach().clone()
loss = model(torch.ones(4, 20)).pow(2).mean()
loss.backward()
optimizer.step()
weights_changed = not torch.equal(before, model[0].weight)
print("one AdamW step changed the first weight:", weights_changed)

# A checkpoint can replace the dry run: load_state_dict gives the placeholders the saved shapes.
fresh = build()
fresh.load_state_dict(model.state_dict())
loaded = all(torch.equal(p, q) for p, q in zip(fresh.parameters(), model.parameters()))
loaded_shape = tuple(fresh[0].weight.shape)
adagrad = torch.optim.Adagrad(fresh.parameters())  # fine now: the shapes are known
adagrad_state_ready = len(adagrad.state) == len(list(fresh.parameters()))
print(f"loaded without a dry run: weight {loaded_shape}, values as saved: {loaded}")
still_lazy = type(fresh[0]) is nn.LazyLinear and fresh[0].in_features == 0
print("until its first forward pass:", fresh[0])
fresh[0].reset_parameters()  # LazyLinear skips its reset while in_features is 0
reset_did_nothing = torch.equal(fresh[0].weight, model[0].weight)
print("reset_parameters() before that pass left the loaded values alone:", reset_did_nothing)
fresh(torch.ones(4, 20))
values_kept = all(torch.equal(p, q) for p, q in zip(fresh.parameters(), model.parameters()))
print("after it:", fresh[0], " values still as saved:", values_kept)


# Only LazyLinear sets its size at that call. Lazy convolutions and norms set theirs only while
# they create their parameters, and the load has done that: their size stays 0.
def build_cnn() -> nn.Sequential:
    return nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d())


images = torch.zeros(1, 3, 8, 8)
trained_cnn = build_cnn()
trained_cnn(images)
loaded_cnn = build_cnn()
loaded_cnn.load_state_dict(trained_cnn.state_dict())
loaded_cnn(images)
print("convolution and batch norm loaded, then called:", *loaded_cnn, sep="\n  ")
dry_run_first = build_cnn()
dry_run_first(images)  # the dry run creates the parameters and sets the sizes...
dry_run_first.load_state_dict(trained_cnn.state_dict())  # ...then the load fills in the values
print("dry run, then loaded:", *dry_run_first, sep="\n  ")
# A lazy instance norm (affine by default) loaded that way also keeps 0, and its forward checks it.
trained_norm, loaded_norm = nn.LazyInstanceNorm2d(), nn.LazyInstanceNorm2d()
trained_norm(images)
loaded_norm.load_state_dict(trained_norm.state_dict())
try:
    loaded_norm(images)
except ValueError as error:
    norm_message = str(error)
    print("instance norm loaded, then called:", norm_message)
# A lazy norm with no parameters and no buffers never sets its size, even in a dry run.
bare_norm = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)
bare_norm(images)
print("without parameters or statistics, after a dry run:", bare_norm)

assert adagrad_message.startswith("Attempted to use an uninit")  # witness: adagrad-too-early
assert adagrad_state_ready  # witness: adagrad-state-in-constructor
assert (  # witness: muon-checks-in-constructor
    muon_message.startswith("Muon only supports 2D parameters")
    and "torch.Size([0])" in muon_message
    and muon_accepts
)
assert placeholder_ndim == 1 and decayed_too_early == 0  # witness: ndim-one
decay_group = optimizer.param_groups[0]
assert (  # witness: groups-after-dry-run
    decayed == 2
    and decay_group["weight_decay"] == 0.01
    and any(p is model[0].weight for p in decay_group["params"])
    and weights_changed
)
assert all(early_ones.values()) and len(early_ones) == 4  # witness: early-optimizers-train
assert loaded and loaded_shape == (256, 20)  # witness: load-materializes
assert still_lazy  # witness: load-still-lazy
assert reset_did_nothing  # witness: load-reset-no-op
assert type(fresh[0]) is nn.Linear and fresh[0].in_features == 20  # witness: first-call-converts
assert values_kept  # witness: first-call-keeps-values
assert (  # witness: load-conv-keeps-zero
    [type(layer) for layer in loaded_cnn] == [nn.Conv2d, nn.BatchNorm2d]
    and loaded_cnn[0].in_channels == 0
    and loaded_cnn[1].num_features == 0
    and loaded_cnn[0].weight.shape[1] == 3
)
assert (  # witness: dry-run-then-load
    dry_run_first[0].in_channels == 3 and dry_run_first[1].num_features == 4
)
assert norm_message.startswith(  # witness: load-instance-norm-fails
    "expected input's size at dim=1 to match num_features (0)"
)
assert type(bare_norm) is nn.BatchNorm2d and bare_norm.num_features == 0  # witness: bare-norm-zero

"""Validation puts the model in eval mode; without model.train() dropout stays off afterwards and
batch norm stops updating its running statistics."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(16, 1)
)
norm, dropout = model[1], model[3]
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(32, 4), torch.randn(32, 1)


def validate() -> float:
    model.eval()
    with torch.no_grad():
        return nn.functional.mse_loss(model(x), y).item()


norm_seen = []  # batch norm's input and output, noted by a hook in every forward pass
norm.register_forward_hook(lambda module, inputs, output: norm_seen.append((inputs[0], output)))
dropout_unchanged = []  # whether dropout returned its input unchanged, in every forward pass
dropout.register_forward_hook(
    lambda module, inputs, output: dropout_unchanged.append(torch.equal(inputs[0], output))
)


def normalized_with(mean: torch.Tensor, var: torch.Tensor) -> bool:
    """Whether batch norm's last output is its input normalized with these statistics."""
    inputs, output = norm_seen[-1]
    with torch.no_grad():
        by_hand = (inputs - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias
    return torch.allclose(output, by_hand, atol=1e-5)


by_batch = []  # whether each training step normalized with the batch's own statistics


def train(epochs: int, call_train: bool) -> tuple[list[bool], ...]:
    """Returns, for each epoch's training step: model.training, dropout.training, whether batch
    norm updated its statistics (its running mean moved and its update count grew), whether
    it normalized the batch with its running statistics instead of the batch's own, and whether
    dropout returned its input unchanged."""
    modes, dropout_modes, norm_updates, by_running, passed = [], [], [], [], []
    for _ in range(epochs):
        if call_train:
            model.train()  # the fix: at the start of every epoch
        modes.append(model.training)
        dropout_modes.append(dropout.training)
        mean_before, count_before = norm.running_mean.clone(), int(norm.num_batches_tracked)
        var_before = norm.running_var.clone()
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        by_running.append(normalized_with(mean_before, var_before))
        inputs = norm_seen[-1][0]
        by_batch.append(normalized_with(inputs.mean(0), inputs.var(0, unbiased=False)))
        passed.append(dropout_unchanged[-1])
        optimizer.step()
        mean_moved = not torch.equal(norm.running_mean, mean_before)
        norm_updates.append(mean_moved and int(norm.num_batches_tracked) == count_before + 1)
        validate()
    return modes, dropout_modes, norm_updates, by_running, passed


without_train, dropout_without_train, norm_without_train, running_without_train, passed_without = (
    train(3, call_train=False)
)
with_train, dropout_with_train, norm_with_train, running_with_train, _ = train(3, call_train=True)
print("training mode in epochs 1-3 without model.train():", without_train)
print("  dropout returned its input unchanged:           ", passed_without)
print("  batch norm updated its statistics:              ", norm_without_train)
print("  it normalized with its running statistics:      ", running_without_train)
print("training mode in epochs 1-3 with model.train():   ", with_train)
print("  batch norm updated its statistics:              ", norm_with_train)
print("  it normalized with its running statistics:      ", running_with_train)
later_epochs_training = without_train[1]


def restore_modes(modes: dict[nn.Module, bool]) -> None:
    """Sets each module's own flag. train(mode) would set its children's flags too, which undoes
    a child restored before its parent. This skips any train() that a subclass overrides."""
    for module, mode in modes.items():
        module.training = mode


def validate_keeping_modes() -> float:
    """Validation that gives every submodule back the mode it found."""
    modes = {module: module.training for module in model.modules()}
    loss = validate()
    restore_modes(modes)
    return loss


# Restoring only the model's own flag also resets a submodule kept in eval mode on purpose.
model.train()
norm.eval()  # a batch norm frozen on purpose
was_training = model.training
validate()
model.train(was_training)  # one flag, applied to every submodule
one_flag_unfreezes = norm.training
norm.eval()
validate_keeping_modes()
each_mode_kept = model.training and dropout.training and not norm.training
print("after model.train(was_training), the frozen batch norm trains:", one_flag_unfreezes)
print("after restoring each submodule's mode, it is still frozen:", not norm.training)

# In a plain tree, modules() lists every parent before its children, so train(mode) in that order
# sets each parent before the frozen batch norm: it stays frozen.
tree_modes = {module: module.training for module in model.modules()}
model.eval()
for module, mode in tree_modes.items():
    module.train(mode)
frozen_in_tree = model.training and not norm.training

# A batch norm shared by two parents: here modules() lists it once, under its first parent and
# before its second. Restoring with train(mode) in that order unfreezes it again.
shared = nn.BatchNorm1d(4)
two_parents = nn.Sequential(shared, nn.Sequential(nn.Linear(4, 4), shared))
shared.eval()
order = list(two_parents.modules())
listed_once = order.count(shared) == 1
listed_before_parent = order.index(shared) < order.index(two_parents[1])
modes = {module: module.training for module in order}
two_parents.eval()
for module, mode in modes.items():
    module.train(mode)  # recursive: the second parent's call sets the shared module's flag again
frozen_after_train_calls = not shared.training
two_parents.eval()
restore_modes(modes)
frozen_after_flags = not shared.training
print(
    "restored with train(mode), frozen batch norm still frozen: in a plain tree",
    frozen_in_tree,
    " shared",
    frozen_after_train_calls,
)
print("shared batch norm still frozen, restored with .training = mode:", frozen_after_flags)


class CountsTrain(nn.Identity):  # a subclass that does more in train(): it counts the calls
    calls = 0

    def train(self, mode: bool = True) -> "CountsTrain":
        self.calls += 1
        return super().train(mode)


counting = nn.Sequential(CountsTrain())
restore_modes({module: False for module in counting.modules()})
calls_by_flags, flag_set = counting[0].calls, not counting[0].training
counting.train()
calls_by_train = counting[0].calls
print("overridden train() calls: restore_modes", calls_by_flags, " model.train()", calls_by_train)

assert (
    without_train == [True, False, False] and later_epochs_training is False
)  # witness: stays-eval
assert dropout_without_train == [True, False, False]  # witness: dropout-flag-sticks
assert passed_without == [False, True, True]  # witness: dropout-does-nothing
assert norm_without_train == [True, False, False]  # witness: norm-stops-updating
uses_running = running_without_train == [False, True, True]
uses_batch = by_batch == [True, False, False] + [True] * 3  # without train(), then with it
statistics_used = uses_running and running_with_train == [False] * 3 and uses_batch
assert statistics_used  # witness: norm-uses-running-stats
fixed_modes = with_train == dropout_with_train == [True, True, True]
assert fixed_modes and norm_with_train == [True, True, True]  # witness: train-fixes
assert one_flag_unfreezes and each_mode_kept  # witness: restore-each-mode
flags_restore = frozen_after_flags and not frozen_after_train_calls
assert listed_once and listed_before_parent and flags_restore  # witness: shared-module-restore
assert frozen_in_tree  # witness: tree-order-keeps-frozen
skipped = flag_set and calls_by_flags == 0 and calls_by_train == 1
assert skipped  # witness: override-skipped

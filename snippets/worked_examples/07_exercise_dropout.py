"""Exercise: add Dropout to SmallNet and see what train() and eval() change."""

import re
import warnings

import torch
from torch import nn


class CenteredLayer(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=-1, keepdim=True)


class SmallNet(nn.Module):  # the page's model, as it was before the exercise
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, d_out),
            CenteredLayer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SmallNetWithDropout(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int, p: float = 0.5) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(d_hidden, d_out),
            CenteredLayer(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


torch.manual_seed(0)
model = SmallNetWithDropout(10, 8, 3)
X = torch.randn(4, 10)

parameter_count = sum(p.numel() for p in model.parameters())
dropout = model.layers[2]
ones = torch.ones(2, 8)
train_calls_agree = torch.equal(model(X), model(X))
masks_differ = not torch.equal(dropout(ones) == 0, dropout(ones) == 0)  # a fresh mask per call
# Each call draws its mask from the global generator's current state: start both calls from the
# same state and the two agree, in training mode too.
with torch.random.fork_rng(devices=[]):  # the CPU generator's state is restored afterwards
    first_output = model(X)
same_state_agrees = torch.equal(first_output, model(X))
# Dropout holds no tensors, so it has no device of its own. Its mask comes from the default
# generator of its input's device, here the CPU's: the same seed gives the same Bernoulli draws.
dropout_holds_nothing = not [*dropout.parameters(), *dropout.buffers()]
with torch.random.fork_rng(devices=[]):  # here too, the CPU generator is restored afterwards
    torch.manual_seed(1)
    kept = dropout(ones) != 0
    torch.manual_seed(1)
    cpu_draws = torch.empty_like(ones).bernoulli_(1 - dropout.p) == 1
mask_from_cpu_generator = torch.equal(kept, cpu_draws)
in_training_mode = model.training  # the default for a new module
# The state_dict of SmallNet before the insert: its second Linear sat at index 2, not 3.
original = SmallNet(10, 8, 3)
old_checkpoint = original.state_dict()
try:
    SmallNetWithDropout(10, 8, 3).load_state_dict(old_checkpoint)
    old_error = None
except RuntimeError as error:
    old_error = str(error)
# strict=False loads what matches, with no error: layers.3 keeps its random initialization. The
# missing and unexpected keys come back in its return value, with no warning either.
loose = SmallNetWithDropout(10, 8, 3)
initial_weight = loose.layers[3].weight.detach().clone()
with warnings.catch_warnings(record=True) as caught:  # the filters are restored afterwards
    warnings.simplefilter("always")
    skipped = loose.load_state_dict(old_checkpoint, strict=False)
skipped_listed = not caught and skipped.missing_keys == ["layers.3.weight", "layers.3.bias"]
skipped_listed &= skipped.unexpected_keys == ["layers.2.weight", "layers.2.bias"]
loose_kept_init = torch.equal(loose.layers[3].weight, initial_weight)
loose_loaded_first = torch.equal(loose.layers[0].weight, original.layers[0].weight)
# Renamed from index 2 to index 3, the old keys load with the default strict=True.
renamed = {key.replace("layers.2.", "layers.3."): value for key, value in old_checkpoint.items()}
renamed_model = SmallNetWithDropout(10, 8, 3)
renamed_model.load_state_dict(renamed)
renamed_loads = torch.equal(renamed_model.layers[3].weight, original.layers[2].weight)
model.eval()
eval_calls_agree = torch.equal(model(X), model(X))
dropout_is_identity = torch.equal(dropout(ones), ones)  # evaluation mode: input passes unchanged
print("parameters:", parameter_count)
print("train mode, two calls agree:", train_calls_agree, " masks differ:", masks_differ)
print("eval mode, two calls agree:", eval_calls_agree, " identity:", dropout_is_identity)
print("train mode, two calls from the same random state agree:", same_state_agrees)
print("a checkpoint from before the insert:")
print(*(f"  {line.strip()}" for line in old_error.splitlines()), sep="\n")
print("strict=False keeps layers.3 as initialized:", loose_kept_init, end=" ")
print(" returns the missing and unexpected keys:", skipped_listed, end=" ")
print(" renamed keys load:", renamed_loads)
if torch.cuda.is_available():  # a CUDA input's mask comes from the GPU's generator
    cpu_state, cuda_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    nn.Dropout(0.5)(torch.ones(8, device="cuda"))
    cuda_drew = not torch.equal(torch.cuda.get_rng_state(), cuda_state)
    gpu_generator = cuda_drew and torch.equal(torch.get_rng_state(), cpu_state)
    torch.cuda.set_rng_state(cuda_state)
    print("dropout on a CUDA input drew from the GPU's generator only:", gpu_generator)

assert not list(dropout.parameters()) and parameter_count == 115  # witness: no-parameters
assert not train_calls_agree  # witness: train-calls-differ
assert masks_differ  # witness: new-mask
assert eval_calls_agree  # witness: eval-calls-agree
assert dropout_is_identity  # witness: eval-identity
assert in_training_mode and same_state_agrees  # witness: same-state-agrees
assert dropout_holds_nothing and mask_from_cpu_generator  # witness: mask-from-input-device
error_lines = old_error.splitlines() if old_error else []
# The error's own lines: "Missing key(s) in state_dict: ..." and "Unexpected key(s) ...".
listed = {line.split(" key(s)")[0].strip(): re.findall(r'"([^"]*)"', line) for line in error_lines}
index_moved = listed.get("Missing") == ["layers.3.weight", "layers.3.bias"]
old_index_left = listed.get("Unexpected") == ["layers.2.weight", "layers.2.bias"]
assert index_moved and old_index_left  # witness: old-checkpoint-index
assert loose_kept_init and loose_loaded_first  # witness: not-strict-keeps-init
assert skipped_listed  # witness: not-strict-returns-skipped
assert renamed_loads  # witness: renamed-keys-load
if torch.cuda.is_available():
    assert gpu_generator  # witness: cuda-mask-from-gpu

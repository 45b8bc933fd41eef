"""module.apply: one function, called on every submodule, that initializes by type."""

import math

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


visited = []


def init_by_type(module: nn.Module) -> None:
    visited.append(type(module).__name__)
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


torch.manual_seed(0)
model = MLP()
returned = model.apply(init_by_type)  # returns the model itself, so it can be chained

visit_order = " -> ".join(visited)
linear_count = sum(name == "Linear" for name in visited)
print("apply visited:", visit_order)

# apply cannot tell the head from the body: both are nn.Linear. The head's input comes out of a
# ReLU, as body[2]'s does, so Kaiming's ReLU gain suits it just as well. Its role is what differs:
# its outputs are the logits, and with Kaiming weights they are as large as the hidden signal, so
# many predictions start far from uniform and the loss starts above ln 3. Address the head after
# apply and draw it small, so that every class starts close to probability 1/3.
x = torch.randn(256, 16)
random_labels = torch.randint(0, 3, (256,))  # labels the untrained model cannot know
with torch.no_grad():
    hidden = model.body(x)  # the head's input
    kaiming_logits = model.head(hidden)
    nn.init.normal_(model.head.weight, std=0.01)
    small_logits = model.head(hidden)
head_input_from_relu = bool((hidden >= 0).all()) and bool((hidden == 0).any())
kaiming_probabilities = kaiming_logits.softmax(dim=1)
small_probabilities = small_logits.softmax(dim=1)
kaiming_spread = (kaiming_probabilities - 1 / 3).abs().max().item()
small_spread = (small_probabilities - 1 / 3).abs().max().item()
kaiming_top = kaiming_probabilities.max(dim=1).values.median().item()
small_top = small_probabilities.max(dim=1).values.median().item()
kaiming_loss = round(F.cross_entropy(kaiming_logits, random_labels).item(), 2)
small_loss = round(F.cross_entropy(small_logits, random_labels).item(), 2)
uniform_loss = round(math.log(3), 2)

biases_zero = all(
    torch.all(m.bias == 0).item() for m in model.modules() if isinstance(m, nn.Linear)
)
print("Linear layers initialized:", linear_count, " all biases zero:", biases_zero)
print(
    f"weight std: body.0 {model.body[0].weight.std().item():.3f}, "
    f"head {model.head.weight.std().item():.3f}"
)
print("at the start             Kaiming head  small head")
print(f"median top probability   {kaiming_top:.2f}          {small_top:.2f}")
print(f"largest |p - 1/3|        {kaiming_spread:.2f}          {small_spread:.2f}")
ln_3 = f"(ln 3 = {uniform_loss:.2f})"
print(f"loss on random labels    {kaiming_loss:.2f}          {small_loss:.2f}   {ln_3}")


# Built-in layers can redraw their own defaults; ReLU, Sequential and MLP have no such method.
def reset(module: nn.Module) -> None:
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()


torch.manual_seed(0)
model.apply(reset)  # visits the linear layers in the order the constructor built them
torch.manual_seed(0)
fresh = MLP()
defaults_restored = all(torch.equal(p, q) for p, q in zip(model.parameters(), fresh.parameters()))
print("after reset_parameters, the same weights as a freshly built MLP:", defaults_restored)

# That works for this MLP, not for every model. MultiheadAttention initializes in_proj_weight in
# a private method, which apply(reset) never calls; nn.Transformer redraws its weights with
# xavier_uniform_ in its constructor, and reset_parameters brings back the layers' own default.
attention = nn.MultiheadAttention(16, 2)
in_proj_before = attention.in_proj_weight.detach().clone()
attention.apply(reset)
in_proj_untouched = torch.equal(attention.in_proj_weight, in_proj_before)
transformer = nn.Transformer(16, 2, 1, 1, dim_feedforward=32, batch_first=True)
linear1 = transformer.encoder.layers[0].linear1  # Linear(16, 32): default bound 1/sqrt(16)
xavier_max = linear1.weight.abs().max().item()  # xavier bound sqrt(6 / (16 + 32)) = 0.35
transformer.apply(reset)
reset_max = linear1.weight.abs().max().item()
print("after apply(reset): MultiheadAttention.in_proj_weight untouched:", in_proj_untouched)
print(f"after apply(reset): Transformer linear1 largest |w| {xavier_max:.2f} -> {reset_max:.2f}")

# apply calls fn once per parent: a module shared by two parents gets it twice, while
# modules() yields it once. Harmless for fn that overwrites, wrong for fn that scales.
shared = nn.Linear(4, 4)
twice = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))
calls = []
twice.apply(lambda m: calls.append(m) if m is shared else None)
shared_calls = len(calls)
shared_in_modules = sum(m is shared for m in twice.modules())
print(f"shared layer: fn called {shared_calls} times, modules() yields it {shared_in_modules} time")

assert returned is model  # witness: returns-model
assert (
    visit_order == "Linear -> ReLU -> Linear -> ReLU -> Sequential -> Linear -> MLP"
)  # witness: order
assert linear_count == 3 and biases_zero
assert head_input_from_relu  # witness: head-input-from-relu
assert (
    kaiming_loss > uniform_loss + 0.1 and kaiming_top > 0.5 and kaiming_spread > 0.3
)  # witness: kaiming-head-far-from-uniform
assert (
    small_spread < 0.1 and abs(small_loss - uniform_loss) < 0.02
)  # witness: small-head-near-uniform
assert defaults_restored  # witness: reset-restores-defaults
assert in_proj_untouched  # witness: mha-in-proj-not-reset
assert xavier_max > 0.25 >= reset_max  # witness: transformer-own-scheme
assert shared_calls == 2 and shared_in_modules == 1  # witness: shared-module-twice

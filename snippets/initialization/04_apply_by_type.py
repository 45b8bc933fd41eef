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

# The order matters as much: the layers redraw in the order apply reaches them. Two equal-sized
# layers registered in the opposite order from the one they were built in swap their weights.
torch.manual_seed(0)
built_first, built_second = nn.Linear(4, 4), nn.Linear(4, 4)
first_drawn = built_first.weight.detach().clone()
second_drawn = built_second.weight.detach().clone()
torch.manual_seed(0)
nn.Sequential(built_second, built_first).apply(reset)
reset_follows_order = torch.equal(built_second.weight, first_drawn) and torch.equal(
    built_first.weight, second_drawn
)
print("registered in the other order, after apply(reset): weights swapped:", reset_follows_order)

# That works for this MLP, not for every model. MultiheadAttention initializes in_proj_weight in
# a private method, which apply(reset) never calls; nn.Transformer redraws its weights with
# xavier_uniform_ in its constructor. After apply(reset) it has a mix: Linear's default in its
# Linear layers, out_proj included, the Transformer's draw in in_proj_weight, and a random bias in
# out_proj, which MultiheadAttention starts at zero.
attention = nn.MultiheadAttention(16, 2)
in_proj_before = attention.in_proj_weight.detach().clone()
attention.apply(reset)
in_proj_untouched = torch.equal(attention.in_proj_weight, in_proj_before)
transformer = nn.Transformer(16, 2, 1, 1, dim_feedforward=32, batch_first=True)
linear1 = transformer.encoder.layers[0].linear1  # Linear(16, 32): default bound 1/sqrt(16)
self_attention = transformer.encoder.layers[0].self_attn
xavier_max = linear1.weight.abs().max().item()  # xavier bound sqrt(6 / (16 + 32)) = 0.35
xavier_in_proj = self_attention.in_proj_weight.detach().clone()
out_weight_before = self_attention.out_proj.weight.abs().max().item()  # xavier bound 0.43
out_bias_before = self_attention.out_proj.bias.abs().max().item()
transformer.apply(reset)
reset_max = linear1.weight.abs().max().item()
keeps_xavier_in_proj = torch.equal(self_attention.in_proj_weight, xavier_in_proj)
out_weight_after = self_attention.out_proj.weight.abs().max().item()  # Linear's bound 1/sqrt(16)
out_bias_after = self_attention.out_proj.bias.abs().max().item()
print("after apply(reset): MultiheadAttention.in_proj_weight untouched:", in_proj_untouched)
print(
    f"after apply(reset): Transformer largest |w|: linear1 {xavier_max:.2f} -> {reset_max:.2f}, "
    f"out_proj {out_weight_before:.2f} -> {out_weight_after:.2f}"
)
print(
    f"  in_proj_weight kept: {keeps_xavier_in_proj}, "
    f"out_proj largest |bias| {out_bias_before:.2f} -> {out_bias_after:.2f}"
)

# apply recurses through children(), which lists a child once per parent even when the parent
# holds it twice. So fn runs once per distinct path from the model down to the module: twice for
# a module held by two different parents, or by a parent that two different modules hold; four
# times when both happen; once for a module one parent holds twice. modules() yields each once.
# Wrong for fn that scales.


def count_calls(model: nn.Module, target: nn.Module) -> int:
    calls = []
    model.apply(lambda m: calls.append(m) if m is target else None)
    return len(calls)


shared = nn.Linear(4, 4)
twice = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))
shared_calls = count_calls(twice, shared)
shared_in_modules = sum(m is shared for m in twice.modules())
print(f"shared layer: fn called {shared_calls} times, modules() yields it {shared_in_modules} time")
block = nn.Sequential(nn.Linear(4, 4))  # one parent for its layer, but used in two places
nested_calls = count_calls(nn.Sequential(nn.Sequential(block), nn.Sequential(block)), block[0])
print(f"layer in a block that two parents hold: fn called {nested_calls} times")
parents_held_twice = nn.Sequential(nn.Sequential(*twice), nn.Sequential(*twice))  # 2 x 2 paths
paths_calls = count_calls(parents_held_twice, shared)
print(f"two parents, each held by two modules: fn called {paths_calls} times")
repeated_calls = count_calls(nn.Sequential(shared, shared), shared)
repeated_block_calls = count_calls(nn.Sequential(block, block), block[0])
print(
    f"held twice by one parent: fn called {repeated_calls} time; "
    f"layer in a block held twice by one parent: {repeated_block_calls} time"
)


# An initializer that draws does so at every call: twice for the shared layer, which shifts
# every later draw, while a loop over modules() draws once.
def draw(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)


torch.manual_seed(0)
twice.apply(draw)
after_apply = torch.get_rng_state()
torch.manual_seed(0)
draw(shared)
draw(shared)
after_two_draws = torch.get_rng_state()
torch.manual_seed(0)
for module in twice.modules():
    draw(module)
after_loop = torch.get_rng_state()
apply_draws_twice = torch.equal(after_apply, after_two_draws)
apply_shifts_stream = not torch.equal(after_apply, after_loop)
print("random init of the shared layer: apply draws twice, modules() once:", apply_draws_twice)

# modules() yields each module once, not each parameter: a Parameter tied between two modules
# (an embedding and an output layer sharing one matrix) is reached through both, so a loop that
# scales through modules() scales it twice. parameters() yields it once.
embedding, output = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
output.weight = embedding.weight  # tied: one Parameter, held by two modules
tied_model = nn.Sequential(embedding, output)
tied_before = embedding.weight.detach().clone()
with torch.no_grad():
    for module in tied_model.modules():
        if isinstance(module, (nn.Embedding, nn.Linear)):
            module.weight.mul_(0.5)
tied_factor = (embedding.weight / tied_before).unique().tolist()
tied_in_parameters = len(list(tied_model.parameters()))
print(f"tied weight, scaled by 0.5 in a modules() loop: factor {tied_factor}", end="")
print(f"; parameters() yields it {tied_in_parameters} time")

# MultiheadAttention has no reset_parameters(): its constructor builds out_proj (a Linear, which
# draws) and then calls the private _reset_parameters(), which draws in_proj_weight. Replayed from
# the same seed, that sequence gives the constructor's in_proj_weight bit for bit.
torch.manual_seed(0)
replayed = nn.MultiheadAttention(16, 2)
constructor_in_proj = replayed.in_proj_weight.detach().clone()
with torch.no_grad():
    replayed.in_proj_weight.fill_(7.0)  # so that only a redraw can bring the values back
torch.manual_seed(0)
nn.Linear(16, 16)  # the draw of out_proj
replayed._reset_parameters()
private_replays_constructor = torch.equal(replayed.in_proj_weight, constructor_in_proj)
mha_private = not hasattr(replayed, "reset_parameters") and private_replays_constructor
print("MultiheadAttention's in_proj_weight, replayed by _reset_parameters():", mha_private)

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
assert reset_follows_order  # witness: reset-follows-visit-order
assert mha_private  # witness: mha-private-reset
assert in_proj_untouched and mha_private  # witness: mha-in-proj-not-reset
assert (
    min(xavier_max, out_weight_before) > 0.25 >= max(reset_max, out_weight_after)
    and keeps_xavier_in_proj
    and out_bias_before == 0 < out_bias_after
)  # witness: transformer-mixed-scheme
in_modules_by_paths = sum(m is shared for m in parents_held_twice.modules())  # four paths
assert shared_in_modules == 1 and in_modules_by_paths == 1  # witness: modules-once
assert repeated_calls == 1 and repeated_block_calls == 1  # witness: same-parent-twice-once
assert paths_calls == 4 and shared_calls == nested_calls == 2  # witness: once-per-path
assert apply_draws_twice and apply_shifts_stream  # witness: shared-random-draws-twice
tied_scaled_twice = tied_factor == [0.25] and tied_in_parameters == 1
assert tied_scaled_twice  # witness: tied-parameter-scaled-twice

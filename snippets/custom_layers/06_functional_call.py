"""torch.func.functional_call: run a module with substitute parameters, leaving its own alone."""

import torch
from torch import nn
from torch.func import functional_call

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

torch.manual_seed(0)
layer = nn.Linear(3, 2).to(device)
x = torch.randn(4, 3).to(device)
own_weight = layer.weight.detach().clone()

# Substitute every parameter, by its name in named_parameters().
substitutes = {"weight": torch.zeros(2, 3, device=device), "bias": torch.ones(2, device=device)}
out = functional_call(layer, substitutes, (x,))
all_ones = torch.equal(out, torch.ones(4, 2, device=device))
untouched = torch.equal(layer.weight, own_weight)
print(
    f"with weight 0 and bias 1 every output is 1: {all_ones}; "
    f"the layer's own weight untouched: {untouched}"
)

# Gradients flow to the substitutes, and to the module's own tensors for names left out.
weight = torch.zeros(2, 3, device=device, requires_grad=True)
functional_call(layer, {"weight": weight}, (x,)).sum().backward()  # bias: the layer's own
substitute_has_grad = weight.grad is not None
own_has_grad = layer.weight.grad is not None
own_bias_has_grad = layer.bias.grad is not None
print(
    f"gradient on the substitute weight: {substitute_has_grad}, on the layer's own weight: "
    f"{own_has_grad}, on the layer's own bias: {own_bias_has_grad}"
)
# Pass every name (here the bias detached: same memory, no autograd link), and the module's own
# get no gradient; a clone() keeps the link, and the bias gets one.
layer.zero_grad()  # the gradients above back to None
weight.grad = None
detached_bias = layer.bias.detach()
functional_call(layer, {"weight": weight, "bias": detached_bias}, (x,)).sum().backward()
own_spared = layer.weight.grad is None and layer.bias.grad is None
substitute_still_learns = weight.grad is not None
shares_memory = detached_bias.data_ptr() == layer.bias.data_ptr()
print(f"bias passed detached too: the layer's own weight and bias get no gradient: {own_spared}")
print(f"the detached bias shares the bias's memory: {shares_memory}")
functional_call(layer, {"weight": weight, "bias": layer.bias.clone()}, (x,)).sum().backward()
clone_linked = layer.bias.grad is not None
layer.zero_grad()
print(f"a clone() passed instead gives the bias a gradient: {clone_linked}")

# A misspelled parameter name (the last part of a key) raises nothing by default and changes
# nothing in the result; strict=True catches it.
typo_is_ignored = torch.equal(
    functional_call(layer, {"bais": torch.ones(2, device=device)}, (x,)), layer(x)
)
try:
    functional_call(
        layer, {"weight": weight, "bais": torch.ones(2, device=device)}, (x,), strict=True
    )
except RuntimeError as error:
    strict_message = str(error)
    print(
        f"typo has no effect without strict: {typo_is_ignored}; "
        f"with strict=True: {type(error).__name__}:"
    )
    print(strict_message)

# A misspelled submodule path is not ignored: functional_call cannot find the submodule.
model = nn.Sequential(layer)
try:
    functional_call(model, {"1.bias": torch.ones(2, device=device)}, (x,))
    path_message = ""
except AttributeError as error:
    path_message = f"{type(error).__name__}: {error}"
print(f"'1.bias' for '0.bias': {path_message}")


# With tied weights, a name left out that is tied to one in the dictionary takes its substitute
# (tie_weights=True, the default); tie_weights=False gives it the module's own tensor back.
class TiedPair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(2, 2, bias=False)
        self.second = nn.Linear(2, 2, bias=False)
        self.second.weight = self.first.weight  # one Parameter under two names

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.second(inputs)


tied, pair_input = TiedPair().to(device), torch.ones(1, 2, device=device)
first_only = {"first.weight": torch.zeros(2, 2, device=device)}
tied_follows = torch.equal(functional_call(tied, first_only, (pair_input,)), 0 * pair_input)
untied_own = functional_call(tied, first_only, (pair_input,), tie_weights=False)
untied_falls_back = torch.equal(untied_own, tied(pair_input))
print(f"tied name left out: takes the substitute {tied_follows}", end=", ")
print(f"with tie_weights=False the module's own {untied_falls_back}")
tied_strict = functional_call(tied, first_only, (pair_input,), strict=True)  # no error
try:
    functional_call(tied, first_only, (pair_input,), strict=True, tie_weights=False)
    untied_strict_message = ""
except RuntimeError as error:
    untied_strict_message = str(error)
tied_strict_ok = torch.equal(tied_strict, 0 * pair_input)
tied_strict_ok &= "Missing key(s): 'second.weight'" in untied_strict_message
print(f"strict=True accepts the tied name left out, unless tie_weights=False: {tied_strict_ok}")

# Buffers left out of the dictionary are the module's own, and a training-mode forward updates them.
norm = nn.BatchNorm1d(3).to(device)
mean_at_start = norm.running_mean.clone()
functional_call(norm, dict(norm.named_parameters()), (x,))
own_mean = norm.running_mean.clone()
own_stats_updated = norm.num_batches_tracked.item() == 1 and not torch.equal(
    own_mean, mean_at_start
)
copies = {name: t.clone() for name, t in [*norm.named_parameters(), *norm.named_buffers()]}
functional_call(norm, copies, (x,))  # buffers passed too: the copies are updated, not the module
module_spared = norm.num_batches_tracked.item() == 1 and torch.equal(norm.running_mean, own_mean)
copies_updated = copies["num_batches_tracked"].item() == 2 and not torch.equal(
    copies["running_mean"], own_mean
)
norm.eval()  # in eval mode, batch norm only reads its statistics
eval_out = functional_call(norm, dict(norm.named_parameters()), (x,))
expected = (x - norm.running_mean) / (norm.running_var + norm.eps).sqrt() * norm.weight + norm.bias
reads_stats = torch.allclose(eval_out, expected, atol=1e-6)
eval_spares_module = norm.num_batches_tracked.item() == 1 and torch.equal(
    norm.running_mean, own_mean
)
print(
    f"BatchNorm in training mode updates its own statistics: {own_stats_updated}; "
    f"not when its buffers are passed: {module_spared}; "
    f"not in eval mode: {eval_spares_module}"
)
# strict=True wants every name the module has, buffers as well as parameters.
try:
    functional_call(norm, dict(norm.named_parameters()), (x,), strict=True)
    buffers_message = ""
except RuntimeError as error:
    buffers_message = str(error).split("\n")[-1].strip()
print(f"BatchNorm, parameters only, strict=True: {buffers_message}")

assert all_ones  # witness: substitutes-used
assert untouched  # witness: own-untouched
assert substitute_has_grad and not own_has_grad  # witness: substitute-gets-grad
assert own_bias_has_grad  # witness: left-out-gets-grad
spared_unless_linked = own_spared and shares_memory and substitute_still_learns and clone_linked
assert spared_unless_linked  # witness: detached-copies-spare-module
assert typo_is_ignored  # witness: typo-ignored
assert path_message.startswith("AttributeError")  # witness: path-typo-raises
assert tied_follows and untied_falls_back  # witness: tied-name-follows
assert tied_strict_ok  # witness: strict-allows-tied
assert "Unexpected key(s): 'bais'" in strict_message and "Missing key(s): 'bias'" in strict_message
assert own_stats_updated  # witness: own-stats-updated
assert module_spared  # witness: module-spared
assert copies_updated  # witness: copies-updated
assert eval_spares_module and reads_stats  # witness: eval-spares-stats
assert buffers_message.startswith("Missing key(s)") and all(  # witness: strict-needs-buffers
    f"'{name}'" in buffers_message for name, _ in norm.named_buffers()
)

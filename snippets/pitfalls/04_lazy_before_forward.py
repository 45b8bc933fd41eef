"""A lazy module has no shapes until its first forward pass or a loaded state_dict: counting or
initializing fails."""

import math

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
placeholder = model[0].weight
is_uninitialized = isinstance(placeholder, nn.parameter.UninitializedParameter)
try:
    sum(p.numel() for p in model.parameters())  # the mistake: before the dry run
    message = ""
except ValueError as error:
    message = str(error)
print(f"ValueError: {message.split('. ')[0]}. [...]")
init_errors = {}  # initializing fails too; the error depends on what the init function reads first
for init in (nn.init.zeros_, nn.init.kaiming_normal_):
    try:
        init(model[0].weight)
    except (ValueError, RuntimeError) as error:
        init_errors[init.__name__] = (type(error).__name__, str(error))
        short = str(error).split(". ")[0].split(" in <")[0]
        print(f"{init.__name__}: {type(error).__name__}: {short}. [...]")
zeros_type, zeros_message = init_errors["zeros_"]
kaiming_type, kaiming_message = init_errors["kaiming_normal_"]
try:
    model[0].weight.shape
    shape_message = ""
except RuntimeError as error:
    shape_message = str(error)
print(f".shape -> RuntimeError: {shape_message.split('. ')[0]}. [...]")
placeholder_size = model[0].weight.size()  # no error: size() is allowed, and answers a lie
size_count = sum(math.prod(p.size()) for p in model.parameters())
print("size() ->", placeholder_size, " a count built on size():", size_count)

# Built before the dry run (see below). SGD and Adam only store the parameter objects here;
# Adagrad reads each parameter in its constructor to build its state, so it needs them at once.
optimizers = [torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.Adam(model.parameters())]
state_at_creation = [len(optimizer.state) for optimizer in optimizers]  # no per-parameter state
try:
    torch.optim.Adagrad(model.parameters())
    adagrad_message = ""
except ValueError as error:
    adagrad_message = str(error)
print(f"Adagrad before the dry run -> ValueError: {adagrad_message.split(' in ')[0]} [...]")

model(torch.randn(1, 5))  # the fix: one forward pass with an example batch creates the parameters
parameter_count = sum(p.numel() for p in model.parameters())
model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
print("after the dry run:", parameter_count, "parameter values;", model[0])
adagrad = torch.optim.Adagrad(model.parameters())  # now it can read them
adagrad_state_shapes = [tuple(adagrad.state[p]["sum"].shape) for p in model.parameters()]
print("Adagrad after the dry run, state built in its constructor:", adagrad_state_shapes)

# Materializing keeps the same Parameter objects, so the optimizers created earlier
# still update them.
model(torch.randn(4, 5)).sum().backward()
early_optimizers_update = []
for optimizer in optimizers:
    before = model[0].weight.detach().clone()
    optimizer.step()
    early_optimizers_update.append(not torch.equal(before, model[0].weight))
same_object = all(o.param_groups[0]["params"][0] is model[0].weight for o in optimizers)
same_object = same_object and model[0].weight is placeholder
now_plain_parameter = type(placeholder) is nn.Parameter
print("SGD, Adam created before the dry run update the weights:", early_optimizers_update)

# Loading a full state_dict needs no dry run: the lazy modules take their shapes from it.
# The module itself stays lazy (in_features=0) until its first forward pass.
fresh = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
load_result = fresh.load_state_dict(model.state_dict())
loaded_count = sum(p.numel() for p in fresh.parameters())
loaded_shapes = {name: tuple(p.shape) for name, p in fresh.named_parameters()}
saved_shapes = {name: tuple(p.shape) for name, p in model.state_dict().items()}
print("a fresh lazy model after load_state_dict:", loaded_count, "parameter values;", load_result)
loaded_layer = (type(fresh[0]).__name__, fresh[0].in_features)
fresh(torch.randn(1, 5))  # the first forward pass keeps the loaded values
kept_loaded = all(torch.equal(v, model.state_dict()[k]) for k, v in fresh.state_dict().items())
after_forward_layer = (type(fresh[0]).__name__, fresh[0].in_features)
print("its first layer after loading:", loaded_layer, " after a forward pass:", after_forward_layer)

assert message.startswith("Attempted to use an uninitialized parameter")  # witness: count-fails
assert zeros_type == "ValueError" and zeros_message.startswith(  # witness: init-fails
    "Attempted to use an uninitialized parameter"
)
assert kaiming_type == "RuntimeError" and kaiming_message.startswith(  # witness: init-shape-fails
    "Can't access the shape"
)
assert is_uninitialized and shape_message.startswith("Can't access the shape")  # witness: no-shape
assert placeholder_size == torch.Size([0])  # witness: size-is-zero
assert size_count == 0  # witness: size-count-zero
assert parameter_count == 5 * 8 + 8 + 8 * 2 + 2 == 66
assert early_optimizers_update == [True, True]  # witness: early-optimizer-updates
assert state_at_creation == [0, 0]  # witness: no-state-at-creation
assert adagrad_message.startswith(  # witness: adagrad-fails-early
    "Attempted to use an uninitialized parameter"
) and adagrad_state_shapes == [tuple(p.shape) for p in model.parameters()]
assert same_object and now_plain_parameter  # witness: materialized-in-place
load_complete = not (load_result.missing_keys or load_result.unexpected_keys)
shapes_from_checkpoint = loaded_shapes == saved_shapes and loaded_count == parameter_count
assert load_complete and shapes_from_checkpoint  # witness: load-needs-no-dry-run
assert loaded_layer == ("LazyLinear", 0)  # witness: loaded-stays-lazy
assert after_forward_layer == ("Linear", 5) and kept_loaded  # witness: forward-keeps-loaded

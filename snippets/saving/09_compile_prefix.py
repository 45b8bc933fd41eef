"""torch.compile wraps a model in an OptimizedModule; its state_dict keys start "_orig_mod."."""

import torch
from torch import nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
compiled = torch.compile(model)  # only wraps the model; compilation would happen on the first call

saved = compiled.state_dict()
first_key = next(iter(saved))
wrapper_name = type(compiled).__name__
wraps_same_model = compiled._orig_mod is model
print(f"{wrapper_name} wraps the original model: {wraps_same_model}")
print("keys written by the wrapper:", list(saved))

consume_prefix_in_state_dict_if_present(saved, "_orig_mod.")
fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
fresh.load_state_dict(saved)
stripped_loads = torch.equal(fresh[2].bias, model[2].bias)
print("after stripping:", list(saved))

# At save time, save the original module instead: model.state_dict() has no prefix.
plain_keys = list(model.state_dict())
shares_parameters = all(a is b for a, b in zip(compiled.parameters(), model.parameters()))
print("the wrapper and the original model share their parameters:", shares_parameters)

# Load into model too: the wrapper expects the prefixed keys.
new_values = {key: torch.ones_like(value) for key, value in model.state_dict().items()}
try:
    compiled.load_state_dict(new_values)
    wrapper_error = "loaded"
except RuntimeError as error:
    wrapper_error = str(error).splitlines()[1].strip()
print("the wrapper, given plain keys:", wrapper_error.split(",")[0], "...")
model.load_state_dict(new_values)
wrapper_has_new_values = all(value.eq(1).all() for value in compiled.state_dict().values())
print("after loading into model, the wrapper holds the new values:", wrapper_has_new_values)

# Or compile in place: Module.compile() keeps the module object, so its keys stay as they were.
in_place = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
in_place.compile()
in_place_type = type(in_place).__name__
in_place_keys = ", ".join(in_place.state_dict())
print(f"after in_place.compile(): still a {in_place_type}, keys {in_place_keys}")

assert wrapper_name == "OptimizedModule" and wraps_same_model  # witness: wraps-original
assert first_key == "_orig_mod.0.weight"
assert shares_parameters  # witness: shares-parameters
assert list(saved) == plain_keys == ["0.weight", "0.bias", "2.weight", "2.bias"]  # witness: clean
assert stripped_loads
wrapper_refused = wrapper_error.startswith('Missing key(s) in state_dict: "_orig_mod.')
assert wrapper_refused  # witness: wrapper-refuses
assert wrapper_has_new_values  # witness: load-into-model
assert in_place_type == "Sequential" and in_place_keys == "0.weight, 0.bias, 2.weight, 2.bias"

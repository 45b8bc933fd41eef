"""Exercise: a float64 model that starts from the weights seed 0 gives the float32 model."""

import torch
from torch import nn


def build(dtype: torch.dtype | None = None) -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 2, dtype=dtype))


def weights(model: nn.Module) -> list[torch.Tensor]:
    return [parameter.detach().clone() for parameter in model.parameters()]


torch.manual_seed(0)
single = build()
single_weights = weights(single)

# Way 1: build in float64 after the same seed. Way 2: build in float32, then convert.
torch.manual_seed(0)
built_double = weights(build(torch.float64))
torch.manual_seed(0)
converted_double = weights(build().double())

wide = [w.double() for w in single_weights]  # the float32 weights, written as float64
built_keeps = all(torch.equal(b, w) for b, w in zip(built_double, wide))
built_agree = sum(int((b == w).sum()) for b, w in zip(built_double, wide))
built_close = sum(int(torch.isclose(b, w).sum()) for b, w in zip(built_double, wide))
# torch.equal compares values, not dtypes: check that the copy really is float64.
converted_is_double = all(c.dtype == torch.float64 for c in converted_double)
converted_keeps = all(torch.equal(c, w) for c, w in zip(converted_double, wide))
built_difference = max((b - w).abs().max().item() for b, w in zip(built_double, wide))
back_to_float = all(torch.equal(c.float(), s) for c, s in zip(converted_double, single_weights))
print("built in float64: holds the float32 weights:", built_keeps)
print(f"  weights equal to them: {built_agree}, largest difference: {built_difference:.2f}")
print("built in float32, then .double(): holds the float32 weights:", converted_keeps)
print("  and .float() gives them back bit for bit:", back_to_float)

# A half type has fewer bits than float32: converting rounds, and converting back does not undo it.
torch.manual_seed(0)
through_bfloat16 = weights(build().bfloat16().float())
count = sum(w.numel() for w in single_weights)
rounded = sum(int((t != s).sum()) for t, s in zip(through_bfloat16, single_weights))
print(f"through bfloat16 and back: {rounded} of {count} weights changed")

assert built_agree == built_close == 0 and built_difference > 0.1  # witness: built-double-differs
converted_holds_float32 = converted_is_double and converted_keeps
assert converted_holds_float32 and back_to_float  # witness: converted-double-keeps
assert rounded > 0.9 * count  # witness: bfloat16-rounds

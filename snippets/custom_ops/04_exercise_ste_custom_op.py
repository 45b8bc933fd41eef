"""Exercise: straight-through rounding as a custom op, inside a layer compiled whole."""
# guide: timeout=60

import torch
import torch.nn.functional as F
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


@torch.library.custom_op("guide::round_ste", mutates_args=())
def round_ste(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x)


@round_ste.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
    pass


def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
    return grad_output


round_ste.register_autograd(backward, setup_context=setup_context)


class QuantizedLinear(nn.Linear):
    """nn.Linear whose forward uses the weight rounded to multiples of `step`."""

    def __init__(self, in_features: int, out_features: int, step: float = 0.25) -> None:
        super().__init__(in_features, out_features)
        self.step = step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, round_ste(self.weight / self.step) * self.step, self.bias)


torch.manual_seed(0)
layer = QuantizedLinear(4, 3).to(device)
x = torch.randn(8, 4).to(device)

layer(x).pow(2).mean().backward()
eager_grad = layer.weight.grad.clone()
eager_grad_nonzero = bool(eager_grad.abs().sum() > 0)

layer.zero_grad()
compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
compiled(x).pow(2).mean().backward()
compiled_grad = layer.weight.grad.clone()
print("compiled and eager weight gradients agree:", torch.allclose(compiled_grad, eager_grad))
compiled_keys = ", ".join(compiled.state_dict())
print("layer.state_dict keys:   ", list(layer.state_dict()))
print("compiled.state_dict keys:", list(compiled.state_dict()))

checks = torch.library.opcheck(round_ste, (torch.randn(3, 4).to(device).requires_grad_(),))
print("opcheck:", checks)

assert torch.allclose(compiled_grad, eager_grad) and eager_grad_nonzero  # witness: ste-op-compiles
assert list(layer.state_dict()) == ["weight", "bias"]  # witness: subclass-keeps-keys
prefixed = compiled_keys == "_orig_mod.weight, _orig_mod.bias"
assert compiled._orig_mod is layer and prefixed  # witness: compiled-keys-prefixed
assert set(checks.values()) == {"SUCCESS"}

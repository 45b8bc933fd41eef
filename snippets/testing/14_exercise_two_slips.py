"""Exercise: a custom backward with two wrong derivatives. check_gradients names one at a time,
and a parameter value of 1 hides the slip that multiplies by it.

Needs extra_checks.py in the same folder.
"""

import torch
from extra_checks import check_gradients
from torch import nn

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class ScaledTanhFunction(torch.autograd.Function):
    """alpha * tanh(x), with alpha one scale per feature, and a hand-written backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        t = torch.tanh(x)
        ctx.save_for_backward(t, alpha)
        return alpha * t

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, alpha = ctx.saved_tensors
        grad_x = grad_output * alpha * (1 - t * t)
        grad_alpha = (grad_output * t).sum(dim=0)  # summed over the batch, as alpha is shared
        return grad_x, grad_alpha


class TwoSlips(ScaledTanhFunction):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, alpha = ctx.saved_tensors
        grad_x = grad_output * (1 - t * t)  # slip 1: forgets the factor alpha
        grad_alpha = grad_output.sum(dim=0)  # slip 2: forgets the factor tanh(x)
        return grad_x, grad_alpha


class AlphaSlip(ScaledTanhFunction):
    """Slip 1 fixed, slip 2 left."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, alpha = ctx.saved_tensors
        return grad_output * alpha * (1 - t * t), grad_output.sum(dim=0)


class InputSlip(ScaledTanhFunction):
    """Slip 1 left, slip 2 fixed."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, alpha = ctx.saved_tensors
        return grad_output * (1 - t * t), (grad_output * t).sum(dim=0)


class ScaledTanh(nn.Module):
    def __init__(self, function: type[torch.autograd.Function], alpha: float = 2.0) -> None:
        super().__init__()
        self.function = function
        self.alpha = nn.Parameter(torch.full((5,), alpha))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function.apply(x, self.alpha)


gradcheck_messages = {}  # gradcheck's whole error, which the helper's error has as its cause


def report(function: type[torch.autograd.Function], alpha: float = 2.0) -> str:
    """check_gradients' report, or the start of the AssertionError it raised."""
    module = ScaledTanh(function, alpha).to(device)
    try:
        return check_gradients(module, (4, 5), device=gradcheck_device)
    except AssertionError as error:
        gradcheck_messages[function.__name__, alpha] = str(error.__cause__)
        return f"AssertionError: {error}".split(" (gradcheck")[0]


runs = [report(f) for f in (TwoSlips, AlphaSlip, ScaledTanhFunction)]
print("alpha = 2:", *runs, sep="\n  ")
first_run_mismatches = gradcheck_messages["TwoSlips", 2.0].count("mismatch for output")
print("  mismatches in gradcheck's whole message, first run:", first_run_mismatches)
at_one = [report(f, alpha=1.0) for f in (TwoSlips, InputSlip)]
print("alpha = 1:", *at_one, sep="\n  ")
norm_weights_start_at_one = all(
    bool((m.weight == 1).all()) for m in (nn.LayerNorm(5), nn.RMSNorm(5))
)
print("LayerNorm and RMSNorm weights start at 1:", norm_weights_start_at_one)

wrong = "AssertionError: ScaledTanh: wrong gradient for"
names_input = runs[0] == f"{wrong} the input"
assert names_input and first_run_mismatches == 1  # witness: first-names-input
assert runs[1] == f"{wrong} alpha"  # witness: then-names-alpha
assert runs[2].startswith("ScaledTanh: gradients match")  # witness: both-fixed-pass
hidden = at_one[0] == f"{wrong} alpha" and at_one[1].startswith("ScaledTanh: gradients match")
assert hidden  # witness: one-hides-slip
assert norm_weights_start_at_one  # witness: norm-weights-start-at-one

"""Exercise: a backward that passes gradcheck and still has a wrong second derivative."""

import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck
from torch.autograd.gradcheck import GradcheckError

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
gradcheck_device = "cpu" if device.type == "mps" else device  # MPS has no float64


class SiLU(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * s * (1 + x * (1 - s))


class DetachedSiLU(SiLU):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x).detach()  # right value, but hidden from a second differentiation
        return grad_output * s * (1 + x * (1 - s))


class SavedSigmoidSiLU(torch.autograd.Function):
    """Older style: forward computes sigmoid(x) once and saves it for backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(x)  # computed with autograd off: no history back to x
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        x, s = ctx.saved_tensors
        SavedSigmoidSiLU.saved_require_grad = (x.requires_grad, s.requires_grad)
        return grad_output * s * (1 + x * (1 - s))


class SavedOutputSigmoid(torch.autograd.Function):
    """Saves its output, whose history runs back through this Function's own backward."""

    backward_calls = 0

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        SavedOutputSigmoid.saved_history = type(s.grad_fn).__name__  # the saved output's node
        SavedOutputSigmoid.backward_calls += 1
        return grad_output * s * (1 - s)


def second_derivative(function, x: torch.Tensor) -> torch.Tensor:
    """d²f/dx² elementwise, by differentiating the gradient once more."""
    (grad,) = torch.autograd.grad(function(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    return second


torch.manual_seed(0)
x64 = torch.randn(4, dtype=torch.float64).to(gradcheck_device).requires_grad_()

for function in (SiLU, DetachedSiLU, SavedSigmoidSiLU):
    first = gradcheck(function.apply, (x64,), raise_exception=False)
    try:
        second = gradgradcheck(function.apply, (x64,))
    except GradcheckError as error:
        second = str(error).splitlines()[0]
    print(f"{function.__name__:16} gradcheck: {first}  gradgradcheck: {second}")
    if function is DetachedSiLU:
        detached_first, detached_message = first, second
    if function is SavedSigmoidSiLU:
        saved_first, saved_message = first, second

true_second = second_derivative(F.silu, x64)
detached_second = second_derivative(DetachedSiLU.apply, x64)
print("d2/dx2 of F.silu:      ", [round(v, 4) for v in true_second.tolist()])
print("d2/dx2 of DetachedSiLU:", [round(v, 4) for v in detached_second.tolist()])

# In the second differentiation the saved input has its history; the saved intermediate has none.
second_derivative(SavedSigmoidSiLU.apply, x64)
print("saved x, sigmoid(x) require grad:", SavedSigmoidSiLU.saved_require_grad)
saved_intermediate_constant = SavedSigmoidSiLU.saved_require_grad == (True, False)

silu_twice = gradcheck(SiLU.apply, (x64,)) and gradgradcheck(SiLU.apply, (x64,))
sigmoid = SavedOutputSigmoid.apply
sigmoid_twice = gradcheck(sigmoid, (x64,)) and gradgradcheck(sigmoid, (x64,))
SavedOutputSigmoid.backward_calls = 0
second_derivative(sigmoid, x64)  # backward once, then once more through the saved output
print("SavedOutputSigmoid: gradcheck and gradgradcheck:", sigmoid_twice, end="; ")
print("saved output's grad_fn:", SavedOutputSigmoid.saved_history)
assert silu_twice  # witness: plain-ops-twice
assert detached_first and detached_message.startswith("Jacobian mismatch")  # witness: detach-caught
assert torch.allclose(second_derivative(SiLU.apply, x64), true_second)
assert not torch.allclose(detached_second, true_second)  # witness: detach-wrong-hessian
assert saved_first and saved_message.startswith("Jacobian mismatch")  # witness: saved-caught
assert saved_intermediate_constant  # witness: saved-is-constant
saved_own_node = SavedOutputSigmoid.saved_history == "SavedOutputSigmoidBackward"
assert sigmoid_twice and saved_own_node  # witness: saved-output-twice
assert SavedOutputSigmoid.backward_calls == 2  # witness: backward-called-again

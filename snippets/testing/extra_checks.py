"""Three more tests for one nn.Module, beside check_module: a state_dict round trip, a forward pass
in low precision, and gradcheck in float64.

Save this file beside the scripts or test files that use it, then

    from extra_checks import check_gradients, check_low_precision, check_round_trip

Each function returns a one-line report, or raises AssertionError naming the module and what
failed (a failed gradcheck included); other errors raised by torch (load_state_dict's missing or
unexpected keys, say) pass through unchanged. None of them changes the global random streams of
the CPU and of the module's device, unless the module's own forward draws from them (in eval mode,
or in training mode with check_gradients(training=True)): the forward passes run outside any
fork_rng. check_low_precision and check_gradients work on copies;
check_round_trip runs the module itself in eval mode and puts back its modes, but not a buffer or
attribute that forward changes. Run the file directly (python extra_checks.py) to see all three
check a small model.
"""

import copy
import io
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.autograd.gradcheck import GradcheckError


def _require(condition: object, name: str, message: str) -> None:
    if not condition:  # an explicit raise, as in check_module: `python -O` removes asserts
        raise AssertionError(f"{name}: {message}")


def _anchor(module: nn.Module) -> torch.Tensor | None:
    """The first parameter or buffer: it tells the module's device and dtype."""
    return next(iter([*module.parameters(), *module.buffers()]), None)


def _device_of(module: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    anchor = _anchor(module)
    return anchor.device if anchor is not None else torch.device("cpu")


def _random_input(shape: Sequence[int], seed: int) -> torch.Tensor:
    """Drawn on the CPU from a generator of its own: the same numbers on every device."""
    return torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed))


def unsaved_tensors(module: nn.Module) -> list[str]:
    """Names of tensors the module holds that its state_dict leaves out: non-persistent buffers
    and plain tensor attributes. Right ones too (a mask the constructor rebuilds, a cached output):
    compare the list with the names you expect."""
    saved = module.state_dict().keys()
    names = [name for name, _ in module.named_buffers() if name not in saved]
    for prefix, submodule in module.named_modules():
        for attribute, value in vars(submodule).items():
            if isinstance(value, torch.Tensor):  # parameters and buffers live elsewhere
                names.append(f"{prefix}.{attribute}" if prefix else attribute)
    return sorted(names)


def check_round_trip(
    module: nn.Module,
    make_module: Callable[[], nn.Module],
    input_shape: Sequence[int],
    *,
    seed: int = 0,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    device: torch.device | str | None = None,
) -> str:
    """Save `module.state_dict()` to memory, load it into fresh `make_module()` instances, and
    check that they give the same output as `module` in eval mode. Two fresh instances are built,
    under the seeds seed + 1 and seed + 2, given to the CPU's generator and, for a module on an
    accelerator, to that device's (make_module may build there, as the current device): `module`
    can have drawn the same numbers as one of them (if it was built right after
    torch.manual_seed(seed + 1), say), and a random tensor of many values almost never as both,
    so it shows up as a difference. A random choice among few values can match both: list such
    state with unsaved_tensors(). The input is made in the module's floating dtype, as
    check_module does, so make_module must build in that dtype too (lambda: Net().bfloat16())."""
    name = type(module).__name__
    device = _device_of(module, device)
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    fresh_modules = []
    accelerators = [device] if device.type not in ("cpu", "meta") else []
    for fresh_seed in (seed + 1, seed + 2):
        # Seed the CPU's stream and the device's, and put both back afterwards: torch.manual_seed
        # would seed every GPU and leave them seeded. device_index makes the module's device the
        # current one, which manual_seed seeds; on the CPU (index None) it does nothing. fork_rng
        # forks nothing for "meta": there, as on the CPU, fork the CPU alone.
        device_type = device.type if accelerators else "cpu"
        forked = torch.random.fork_rng(devices=accelerators, device_type=device_type)
        with forked, torch.accelerator.device_index(device.index):
            torch.default_generator.manual_seed(fresh_seed)
            if accelerators:
                torch.get_device_module(device).manual_seed(fresh_seed)
            fresh = make_module().to(device)
        buffer.seek(0)
        fresh.load_state_dict(torch.load(buffer, map_location=device, weights_only=True))
        fresh_modules.append(fresh.eval())
    anchor = _anchor(module)
    floating = anchor is not None and anchor.is_floating_point()
    x = _random_input(input_shape, seed).to(device, anchor.dtype if floating else torch.float32)
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            before = module(x)
            afters = [fresh(x) for fresh in fresh_modules]
    finally:
        for m, mode in modes.items():
            m.training = mode
    fresh_dtypes = sorted({str(after.dtype) for after in afters if after.dtype != before.dtype})
    if fresh_dtypes:  # make_module built in another dtype: comparing outputs would mean nothing
        fresh_dtype = fresh_dtypes[0]
        raise AssertionError(f"{name}: a fresh instance returns {fresh_dtype}, not {before.dtype}")
    if not all(torch.allclose(before, after, atol=atol, rtol=rtol) for after in afters):
        unsaved = unsaved_tensors(module)
        hint = f"; not in the state_dict: {unsaved}" if unsaved else ""
        raise AssertionError(f"{name}: outputs differ after a state_dict round trip{hint}")
    return f"{name}: same output after a state_dict round trip"


def check_low_precision(
    module: nn.Module,
    input_shape: Sequence[int],
    *,
    dtype: torch.dtype = torch.bfloat16,
    tolerance: float = 2e-2,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> str:
    """Run a copy of `module` converted to `dtype` and a float32 copy on the same input, in eval
    mode, and check that the output has `dtype`, is finite, and is close to the float32 output:
    |low - reference| / |reference| <= tolerance, with | | the norm over all elements (outputs that
    are both zero pass). The default allows about five times bfloat16's rounding unit, 2**-8. The
    copies are made by copy.deepcopy, which refuses a module that keeps a tensor of a recorded graph
    (an output, say)."""
    name = type(module).__name__
    device = _device_of(module, device)
    x = _random_input(input_shape, seed).to(device, dtype)  # rounded to dtype once, for both
    reference = copy.deepcopy(module).to(device, torch.float32).eval()
    low = copy.deepcopy(module).to(device, dtype).eval()
    with torch.no_grad():
        expected = reference(x.float())
        output = low(x)
    _require(output.dtype == dtype, name, f"output dtype {output.dtype}, expected {dtype}")
    _require(torch.isfinite(output).all(), name, f"NaN or infinity in the {dtype} output")
    difference = (output.float() - expected).norm()
    error = float(difference / expected.norm()) if difference != 0 else 0.0  # not 0/0 if both 0
    _require(
        error <= tolerance, name, f"relative error {error:.2g} in {dtype}, above {tolerance:g}"
    )
    return f"{name}: {dtype} output within {tolerance:g} of float32 (relative error {error:.0e})"


def check_gradients(
    module: nn.Module,
    input_shape: Sequence[int],
    *,
    seed: int = 0,
    fast_mode: bool = True,
    training: bool = False,
    device: torch.device | str | None = None,
) -> str:
    """Compare the gradients autograd computes with finite differences (torch.autograd.gradcheck),
    in float64, with respect to the input and every trainable parameter, in eval mode, or in
    training mode with `training=True` (every submodule, a frozen one too; any randomness, dropout
    say, must be off): a test for custom backward code. `fast_mode` compares random projections of
    the Jacobians instead of every entry. Needs float64, which some accelerators lack: pass
    device="cpu" there. This covers backward code built from PyTorch operations; a backward that
    calls device kernels of its own needs a check on that device too. Works on a copy.deepcopy, as
    check_low_precision does."""
    name = type(module).__name__
    device = _device_of(module, device)
    module64 = copy.deepcopy(module).to(device, torch.float64).train(training)
    names = [n for n, p in module64.named_parameters() if p.requires_grad]
    values = [p.detach().clone().requires_grad_() for p in module64.parameters() if p.requires_grad]
    x = _random_input(input_shape, seed).to(device, torch.float64).requires_grad_()

    def function(inputs: torch.Tensor, *parameters: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(module64, dict(zip(names, parameters)), (inputs,))

    try:
        torch.autograd.gradcheck(function, (x, *values), fast_mode=fast_mode)
    except GradcheckError as error:
        first_line = str(error).splitlines()[0].rstrip(",")
        if first_line.startswith("Jacobian mismatch"):  # "... with respect to input <i>"
            # gradcheck counts only the inputs that require a gradient: x, then `values`.
            index = int(first_line.rpartition(" ")[2])
            which = "the input" if index == 0 else names[index - 1]
            raise AssertionError(
                f"{name}: wrong gradient for {which} (gradcheck: {first_line})"
            ) from error
        raise AssertionError(f"{name}: gradcheck failed: {first_line}") from error
    counted = f"{len(names)} parameter{'s' if len(names) != 1 else ''}"
    return f"{name}: gradients match finite differences for the input and {counted}"


if __name__ == "__main__":
    device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")

    def make_model() -> nn.Module:
        with device:  # built on the device, which its initial weights are drawn from
            return nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3))

    def random_states() -> list[torch.Tensor]:
        """The global random states of the CPU and of the device."""
        states = [torch.get_rng_state()]
        if device.type != "cpu":
            states.append(torch.get_device_module(device).get_rng_state())
        return states

    torch.manual_seed(0)
    model = make_model()
    model[1].eval()  # one part in eval mode, and gradients: the checks must leave both
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    modes, grads = [m.training for m in model.modules()], [p.grad for p in model.parameters()]
    before = random_states()
    print(check_round_trip(model, make_model, input_shape=(4, 5)))
    print(check_low_precision(model, input_shape=(4, 5)))
    gradients_device = "cpu" if device.type == "mps" else None  # MPS has no float64
    print(check_gradients(model, input_shape=(4, 5), device=gradients_device))
    states_kept = [torch.equal(a, b) for a, b in zip(random_states(), before)]
    print("global random states (CPU, device) as they were:", states_kept)
    # the Sequential itself, then its four layers
    modes_kept = [m.training for m in model.modules()] == modes == [True, True, False, True, True]
    same_grads = all(p.grad is g for p, g in zip(model.parameters(), grads))
    grads_kept = same_grads and all(bool((g == 1).all()) for g in grads)
    print("modes and gradients as they were:", modes_kept, grads_kept)
    if device.type != "cpu":  # why the helper seeds by hand: torch.manual_seed seeds the device too
        with torch.random.fork_rng(devices=[device], device_type=device.type):
            torch.get_device_module(device).manual_seed(1)
            torch.manual_seed(0)
            after_global_seed = torch.get_device_module(device).get_rng_state()
            torch.get_device_module(device).manual_seed(0)
            seeded_device = torch.equal(after_global_seed, random_states()[1])
        print("torch.manual_seed(0) seeds the device's generator too:", seeded_device)
        assert seeded_device  # witness: manual-seed-seeds-device
    assert modes_kept and grads_kept  # witness: left-as-found
    assert states_kept[0]  # witness: cpu-stream-kept
    if device.type != "cpu":
        assert states_kept[1]  # witness: device-stream-kept

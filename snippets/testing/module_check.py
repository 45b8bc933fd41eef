"""check_module: a fast test for one nn.Module, run on synthetic input.

Save this file beside the scripts or test files that use it, then

    from module_check import check_module

Run it directly (python module_check.py) to see it check an nn.Linear.
"""

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.parameter import is_lazy

INPUT = "the input"  # how messages and reports name the input tensor


def default_grad_rtol(dtype: torch.dtype) -> float:
    """How small, next to the largest gradient entry, a gradient may be and still count as none.
    A gradient that should be zero comes out as rounding noise, a few eps of the largest one; 64 eps
    leaves a margin."""
    return 64 * torch.finfo(dtype).eps


@dataclass
class ModuleReport:
    """What check_module verified, for printing; it raises before returning if anything failed."""

    name: str
    output_shape: tuple[int, ...] = ()
    trained: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    grad_rtol: float = 0.0  # check 3's threshold, relative to the largest gradient entry

    def __str__(self) -> str:
        return "\n".join(
            [f"{self.name}: {len(self.checks)} checks passed"] + [f"  ok  {c}" for c in self.checks]
        )


def check_module(
    module: nn.Module,
    input_shape: Sequence[int],
    expected_output_shape: Sequence[int],
    *,
    trainable: Iterable[str] | None = None,
    check_input_grad: bool = True,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    grad_rtol: float | None = None,
    device: torch.device | str | None = None,
) -> ModuleReport:
    """Run `module` on a random float batch of `input_shape` and check that

    1. the output has `expected_output_shape`;
    2. the output holds no NaN or infinity;
    3. a scalar loss sends finite gradients, and non-zero ones to exactly the parameters named in
       `trainable` (default: every parameter with requires_grad) and, if `check_input_grad`, to
       the input. A gradient counts as non-zero if its largest entry exceeds `grad_rtol` times the
       largest gradient entry found anywhere, so that rounding noise does not count. Gradients are
       computed in float32 at least (for a 16-bit module, on float32 copies of its parameters and
       buffers, run through the module by functional_call, after a 16-bit backward pass whose
       gradients must be finite), and `grad_rtol` defaults to default_grad_rtol() of that dtype;
    4. in eval mode, two forward passes give the same output;
    5. in eval mode, each example gives the same output alone as in the batch.
    Checks 4 and 5 compare within `atol` and `rtol`, whose defaults are sized for float32 whatever
    the dtype: if check 5 fails for a 16-bit module, loosen both (1e-2 each, say).

    The input is made on `device`; by default on the device of the module's first parameter or
    buffer, or the CPU for a module that has none (pass `device` to test such a module on a GPU).
    It suits modules that take one float tensor, batch first (check 5 cuts examples along dim 0:
    give a sequence-first module batch_first=True or a wrapper), and return one tensor. During the
    checks torch's global random streams are seeded with `seed`: dropout draws the same on every
    call (Python's and NumPy's generators are left alone). Raises AssertionError naming the module
    and the failed check (an output with no graph fails check 3 where a gradient is expected); an
    error raised by the module's own forward or backward pass (integer indices expected, say)
    comes through as it is. Whether it returns or raises, every submodule's training flag, the
    parameters and buffers that existed before the call (the same objects, with their values;
    persistent or not), the .grad of those parameters and torch's global random states of the CPU
    and of the input's device are as they were; other attributes that forward sets are not, nor
    the .grad that check 3's backward leaves on a tensor that is not one of the module's
    registered parameters (not in named_parameters(): a plain tensor attribute, say, or the weight
    of a layer kept in a plain list).
    """
    name = type(module).__name__

    def require(condition: object, message: str) -> None:
        if not condition:  # an explicit raise: `python -O` removes assert statements
            raise AssertionError(f"{name}: {message}")

    params = dict(module.named_parameters())
    require(
        not any(is_lazy(t) for t in itertools.chain(params.values(), module.buffers())),
        "has uninitialized lazy parameters or buffers; call it once first",
    )
    expected = (
        {n for n, p in params.items() if p.requires_grad} if trainable is None else set(trainable)
    )
    require(
        expected <= params.keys(),
        f"trainable names {sorted(expected - params.keys())} are not parameters",
    )
    # The first parameter or buffer tells in which dtype, and by default on which device, to make
    # the input.
    anchor = next(itertools.chain(params.values(), module.buffers()), None)
    if device is None:
        device = anchor.device if anchor is not None else torch.device("cpu")
    device = torch.device(device)
    dtype = anchor.dtype if anchor is not None and anchor.is_floating_point() else torch.float32

    # Copies of everything the checks change. state_dict() would miss non-persistent buffers, and
    # module.train(mode) would give every submodule the top-level mode, unfreezing a frozen part.
    modes = {m: m.training for m in module.modules()}
    buffers = dict(module.named_buffers())
    saved_values = {
        n: t.detach().clone() for n, t in itertools.chain(params.items(), buffers.items())
    }
    saved_grads = {n: p.grad for n, p in params.items()}
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same numbers on every device
    # Dropout draws from the global random streams of the CPU and the device. Fork them, so that
    # they are restored when the checks end, and seed them, so that a call gives the same result
    # whatever ran before it. fork_rng forks nothing for "meta", and raises for "cpu" unless given
    # devices=[]: for both, fork the CPU alone that way.
    accelerators = [device] if device.type not in ("cpu", "meta") else []
    forked_rng = torch.random.fork_rng(
        devices=accelerators, device_type=device.type if accelerators else "cpu"
    )
    report = ModuleReport(name)
    with forked_rng:
        torch.default_generator.manual_seed(seed)
        if accelerators:  # manual_seed seeds the current device: make it the module's
            with torch.accelerator.device_index(device.index):
                torch.get_device_module(device).manual_seed(seed)
        try:
            for p in params.values():
                p.grad = None
            module.train()
            x = torch.randn(tuple(input_shape), generator=generator).to(device, dtype)
            x.requires_grad_(check_input_grad)
            output = module(x)

            # 1 and 2: shape and values.
            require(
                isinstance(output, torch.Tensor), f"returned {type(output).__name__}, not a tensor"
            )
            report.output_shape = tuple(output.shape)
            require(
                report.output_shape == tuple(expected_output_shape),
                f"output shape {report.output_shape}, expected {tuple(expected_output_shape)}",
            )
            report.checks.append(f"output shape {report.output_shape}")
            bad = output.numel() - int(torch.isfinite(output).sum())
            require(bad == 0, f"{bad} NaN or infinite values in the output")
            report.checks.append("no NaN or infinity in the output")

            # 3: gradients. Weighting the output with random numbers makes every element count;
            #    output.sum() gives zero gradients to a layer whose outputs always sum to zero.
            #    In a 16-bit dtype, 64 eps is half (bfloat16) or a sixteenth (float16) of the
            #    largest entry: real gradients below that would count as none. Compute in float32
            #    instead, on float32 copies of the saved values. functional_call swaps them in for
            #    the module's own tensors for the duration of the call, then swaps those back; it
            #    does not copy the module.
            grad_dtype = torch.promote_types(dtype, torch.float32)
            graded, graded_x = params, x
            if grad_dtype != dtype:  # its own 16-bit backward must stay finite all the same
                weights16 = torch.randn(output.shape, generator=generator).to(output)
                if output.requires_grad:  # else nothing reaches anything: check 3 says so below
                    (output * weights16).sum().backward()
                own = {n: p.grad for n, p in params.items() if p.grad is not None}
                own |= {INPUT: x.grad} if check_input_grad and x.grad is not None else {}
                overflowed = sorted(n for n, g in own.items() if not torch.isfinite(g).all())
                require(not overflowed, f"NaN or infinite {dtype} gradient in {overflowed}")
                stand_ins = {
                    n: (t.to(grad_dtype) if t.is_floating_point() else t).clone()
                    for n, t in saved_values.items()
                }
                for n, p in params.items():
                    stand_ins[n].requires_grad_(p.requires_grad)
                graded = {n: stand_ins[n] for n in params}
                graded_x = x.detach().to(grad_dtype).requires_grad_(check_input_grad)
                output = torch.func.functional_call(module, stand_ins, (graded_x,))
            weights = torch.randn(report.output_shape, generator=generator).to(output)
            # An output that nothing requiring grad leads to (a detached one, say) has no graph:
            # backward() would raise its own RuntimeError. Skip it, and check 3 reports the gap.
            if output.requires_grad:
                (output * weights).sum().backward()
            grads = {
                n: p.grad for n, p in graded.items() if p.grad is not None and p.grad.numel() > 0
            }
            if check_input_grad and graded_x.grad is not None:
                grads[INPUT] = graded_x.grad
            infinite = sorted(n for n, g in grads.items() if not torch.isfinite(g).all())
            require(not infinite, f"NaN or infinite gradient in {infinite}")
            largest = {n: float(g.abs().max()) for n, g in grads.items()}
            report.grad_rtol = default_grad_rtol(grad_dtype) if grad_rtol is None else grad_rtol
            threshold = report.grad_rtol * max(largest.values(), default=0.0)
            reached = {n for n, value in largest.items() if value > threshold}
            trained = reached - {INPUT}
            require(not expected - trained, f"no gradient reached {sorted(expected - trained)}")
            require(
                not trained - expected,
                f"a gradient reached {sorted(trained - expected)}, expected to stay fixed",
            )
            require(not check_input_grad or INPUT in reached, "no gradient reached the input")
            report.trained = sorted(trained)
            targets = report.trained + ([INPUT] if check_input_grad else [])
            report.checks.append(
                f"non-zero gradients reach {', '.join(targets) or 'nothing, as expected'}"
            )

            # 4 and 5 in eval mode, where dropout is off and batch norm uses its running statistics.
            module.eval()
            with torch.no_grad():
                batched = module(x)
                require(
                    torch.allclose(batched, module(x), atol=atol, rtol=rtol),
                    "two forward passes differ in eval mode",
                )
                report.checks.append("two forward passes agree in eval mode")
                batch = x.shape[0]
                for i in range(batch):
                    alone = module(x[i : i + 1])
                    require(
                        alone.shape == batched[i : i + 1].shape
                        and torch.allclose(alone, batched[i : i + 1], atol=atol, rtol=rtol),
                        f"example {i} gives a different output alone than in a batch of {batch}",
                    )
                report.checks.append(
                    f"each of the {batch} examples gives the same output alone (eval mode)"
                )
        finally:
            for m, mode in modes.items():
                m.training = mode
            # Write back only what changed, so that a graph built before the call stays usable.
            # allclose with no tolerance is torch.equal, except that NaN counts as equal to NaN.
            with torch.no_grad():
                for n, t in itertools.chain(params.items(), buffers.items()):
                    s = saved_values[n]
                    if t.is_meta or not (  # meta has no values
                        t.shape == s.shape and torch.allclose(t, s, rtol=0, atol=0, equal_nan=True)
                    ):
                        t.copy_(s)
                for n, p in params.items():
                    p.grad = saved_grads[n]
                for n, t in itertools.chain(params.items(), buffers.items()):
                    owner, _, attribute = n.rpartition(".")
                    setattr(module.get_submodule(owner), attribute, t)  # if forward replaced it
    return report


if __name__ == "__main__":
    device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
    torch.manual_seed(0)
    layer = nn.Linear(5, 3).to(device)
    report = check_module(layer, input_shape=(4, 5), expected_output_shape=(4, 3))
    left_as_found = layer.training and layer.weight.grad is None
    print(report)
    checks_passed = len(report.checks)
    trained = ", ".join(report.trained)
    grad_rtol_default = f"{report.grad_rtol:.1e}"
    print("grad_rtol used (the default, in float32):", grad_rtol_default)

    # A forward pass that replaces its parameter and its buffer with new objects (of the same
    # values): the helper puts the old objects back.
    class Replacing(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(5))
            self.register_buffer("shift", torch.zeros(5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.scale = nn.Parameter(self.scale.detach() * 1.0)
            self.shift = self.shift * 1.0
            return x * self.scale + self.shift

    replacing = Replacing().to(device)
    kept_objects = (replacing.scale, replacing.shift)
    check_module(replacing, input_shape=(4, 5), expected_output_shape=(4, 5), trainable=[])
    objects_put_back = replacing.scale is kept_objects[0] and replacing.shift is kept_objects[1]
    print("a replaced parameter and buffer: the old objects put back:", objects_put_back)

    # A module whose training-mode forward pass changes state: batch norm updates its running
    # statistics, dropout draws from the global random stream of the device.
    noisy = nn.Sequential(nn.Linear(5, 3, bias=False), nn.BatchNorm1d(3), nn.Dropout(0.5))
    noisy.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)
    noisy.to(device)
    x = torch.randn(4, 5).to(device)

    def snapshot() -> list[torch.Tensor]:
        """The running mean and the global random states of the CPU and of the device."""
        states = [noisy[1].running_mean.cpu().clone(), torch.get_rng_state()]
        if device.type != "cpu":
            states.append(torch.get_device_module(device).get_rng_state())
        return states

    before = snapshot()
    check_module(noisy, input_shape=(4, 5), expected_output_shape=(4, 3))
    check_left_all = all(torch.equal(a, b) for a, b in zip(snapshot(), before))
    noisy(x)  # one plain training-mode call
    plain_call_left = [torch.equal(a, b) for a, b in zip(snapshot(), before)]
    print("running mean and random states unchanged by check_module:", check_left_all)
    print("one plain training-mode call leaves them (mean, RNG states):", plain_call_left)

    # A graph built before a check: its backward needs the weight as saved, not rewritten in place.
    loss = layer(x.requires_grad_()).sum()
    check_module(layer, input_shape=(4, 5), expected_output_shape=(4, 3))
    loss.backward()
    print("a graph built before check_module backpropagates after it:", x.grad is not None)
    # Batch norm's graph saves its running statistics; the checks change them, and the helper
    # writes them back in place, which such a graph cannot survive.
    loss = noisy(x).sum()
    version = noisy[1].running_mean._version  # counts in-place writes
    seen_in_checks = []  # the version after each forward pass of the checks: they leave it
    hook = noisy[1].register_forward_hook(
        lambda m, i, o: seen_in_checks.append(m.running_mean._version)
    )
    check_module(noisy, input_shape=(4, 5), expected_output_shape=(4, 3))
    hook.remove()
    version_after = noisy[1].running_mean._version
    only_write_back = bool(seen_in_checks) and set(seen_in_checks) == {version}
    written_back = only_write_back and version_after > version
    in_checks = sorted(set(seen_in_checks))
    print(f"running_mean's version: {version} before, {in_checks} in the checks' passes,", end=" ")
    print(f"{version_after} after the write-back")
    try:
        loss.backward()
        bn_graph_error = ""
    except RuntimeError as error:
        bn_graph_error = str(error)
    print("a graph through batch norm, after check_module:")
    print(" ", bn_graph_error.split(":")[0])

    assert checks_passed == 5 and trained == "bias, weight" and grad_rtol_default == "7.6e-06"
    assert left_as_found
    assert objects_put_back  # witness: replaced-put-back
    assert check_left_all and not all(plain_call_left[1:])  # witness: rng-restored
    assert check_left_all and not plain_call_left[0]  # witness: buffers-restored
    assert "calls" not in noisy.state_dict()  # witness: state-dict-skips-non-persistent
    assert x.grad is not None and layer.weight.grad is not None  # witness: graph-kept
    assert written_back and "inplace operation" in bn_graph_error  # witness: bn-graph-broken

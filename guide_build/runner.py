"""Run one snippet file as `python snippets/<chapter>/<file>.py` would, inside this process.

The site build and the tests both run snippets through `run_snippet`, so a snippet behaves the
same on the page, in pytest and in a reader's terminal. Running in-process (not in a subprocess)
keeps torch imported once for a hundred snippets; `_isolated` undoes the global state a snippet
may leave behind (random streams, default dtype, deterministic mode, imported helper modules).
"""

from __future__ import annotations

import io
import random
import runpy
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy
import torch

DEVICES = ("auto", "cpu", "cuda")
_FACT_STRING_LIMIT = 4000


@dataclass(frozen=True)
class SnippetRun:
    """What one run of a snippet printed, the simple values it computed and how long it took."""

    path: str
    device: str
    output: str
    facts: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


class SnippetFailed(Exception):
    """A snippet raised. The message is its traceback, starting at the snippet's own frame."""

    def __init__(self, path: str, traceback_text: str) -> None:
        super().__init__(traceback_text)
        self.path = path
        self.traceback_text = traceback_text


def run_snippet(path: str | Path, *, device: str = "auto") -> SnippetRun:
    """Run the snippet at `path` and return its printed output and facts.

    `device` is "auto" (whatever the machine has, as a reader would get), "cpu" (accelerators are
    hidden from the snippet) or "cuda" (CUDA must be present).
    """
    namespace, output, seconds = _execute(Path(path), device)
    return SnippetRun(str(path), device, output, facts_of(namespace), seconds)


def snippet_namespace(path: str | Path, *, device: str = "auto") -> dict[str, object]:
    """Run the snippet as `run_snippet` does and return its top-level names (its classes, say)."""
    return _execute(Path(path), device)[0]


def _execute(path: Path, device: str) -> tuple[dict[str, object], str, float]:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if not path.is_file():
        raise FileNotFoundError(f"snippet not found: {path}")
    buffer = io.StringIO()
    started = time.perf_counter()
    with _isolated(path.parent), _device_scope(device), redirect_stdout(buffer), redirect_stderr(buffer):
        try:
            namespace = runpy.run_path(str(path), run_name="__main__")
        except BaseException as error:  # SystemExit too: a snippet must run to its end
            raise SnippetFailed(str(path), _snippet_traceback(error, path)) from error
    return namespace, buffer.getvalue(), time.perf_counter() - started


def facts_of(namespace: dict[str, object]) -> dict[str, object]:
    """The top-level values of a snippet that prose may quote: numbers, strings, shapes."""
    facts: dict[str, object] = {}
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        fact = _as_fact(value)
        if fact is not None:
            facts[name] = fact
    return facts


def _as_fact(value: object) -> object | None:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:_FACT_STRING_LIMIT]
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_meta:
        return value.item()
    if isinstance(value, (tuple, torch.Size)) and all(isinstance(v, int) for v in value):
        return list(value)
    return None


def _snippet_traceback(error: BaseException, path: Path) -> str:
    """Format `error`, dropping the frames of this runner and of runpy above the snippet."""
    trace = traceback.TracebackException.from_exception(error)
    stack = list(trace.stack)
    snippet_file = str(path)
    first = next((i for i, frame in enumerate(stack) if frame.filename == snippet_file), 0)
    trace.stack = traceback.StackSummary.from_list(stack[first:])
    return "".join(trace.format())


@contextmanager
def _device_scope(device: str) -> Iterator[None]:
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if device != "cpu":
        yield
        return
    hidden = [
        mock.patch("torch.cuda.is_available", return_value=False),
        mock.patch("torch.cuda.device_count", return_value=0),
        mock.patch("torch.accelerator.is_available", return_value=False),
        mock.patch("torch.accelerator.device_count", return_value=0),
        mock.patch("torch.accelerator.current_accelerator", return_value=None),
        mock.patch("torch.backends.mps.is_available", return_value=False),
    ]
    with ExitStack() as stack:
        for patch in hidden:
            stack.enter_context(patch)
        yield


@contextmanager
def _isolated(snippet_dir: Path) -> Iterator[None]:
    """Give the snippet a fresh process's defaults and put the host's state back afterwards."""
    saved = _save_global_state()
    modules_before = set(sys.modules)
    sys.path.insert(0, str(snippet_dir))
    try:
        _reset_to_fresh_process_defaults()
        with warnings.catch_warnings():
            _use_fresh_process_warning_filters()
            yield
    finally:
        sys.path.remove(str(snippet_dir))
        _forget_local_modules(modules_before)
        _restore_global_state(saved)


def _save_global_state() -> dict[str, object]:
    return {
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "python_rng": random.getstate(),
        "numpy_rng": numpy.random.get_state(),
        "dtype": torch.get_default_dtype(),
        "default_device": _default_device(),
        "grad": torch.is_grad_enabled(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn": (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark),
        "threads": torch.get_num_threads(),
        "print_options": torch._tensor_str.get_printoptions(),
    }


def _restore_global_state(saved: dict[str, object]) -> None:
    torch.set_rng_state(saved["torch_rng"])
    if saved["cuda_rng"] is not None:
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    random.setstate(saved["python_rng"])
    numpy.random.set_state(saved["numpy_rng"])
    torch.set_default_dtype(saved["dtype"])
    _set_default_device(saved["default_device"])
    torch.set_grad_enabled(saved["grad"])
    torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["deterministic_warn_only"])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved["cudnn"]
    torch.set_num_threads(saved["threads"])
    torch.set_printoptions(**saved["print_options"])


def _default_device() -> torch.device:
    try:
        return torch.get_default_device()
    except AttributeError:  # torch 2.9 fails here after set_default_device(None)
        return torch.device("cpu")


def _set_default_device(device: torch.device) -> None:
    if _default_device() != device:  # None clears the setting: no device mode stays active
        torch.set_default_device(None if device == torch.device("cpu") else device)


def _reset_to_fresh_process_defaults() -> None:
    torch.set_default_dtype(torch.float32)
    _set_default_device(torch.device("cpu"))
    torch.set_grad_enabled(True)
    torch.use_deterministic_algorithms(False)
    torch.set_printoptions(profile="default")


def _use_fresh_process_warning_filters() -> None:
    """Python's start-up filters, and warnings written to stderr as a terminal would show them."""
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def _forget_local_modules(modules_before: set[str]) -> None:
    """Drop modules a snippet imported from the repository, so an edited helper is re-read."""
    installed = (sys.prefix, sys.base_prefix)
    for name in set(sys.modules) - modules_before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file and not module_file.startswith(installed):
            del sys.modules[name]

"""What a forked child of the snippet server does: run one snippet file as a fresh `python` would.

It never returns: the child ends with `os._exit`, after writing `result.json` (the snippet's
facts, or its traceback). A child that ends without writing it exited early or crashed.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy
import torch

from guide_build.core import time_limit
from guide_build.core.facts import facts_of
from guide_build.core.runner import UNSET_IN_SNIPPETS
from guide_build.core.witness_probes import REACHED, compile_with_probes
from guide_build.core.witnesses import labelled_assertions


def run(
    *, display: str, script: Path, work: Path, temporary: Path, output: Path, result: Path, device: str, timeout: float
) -> None:
    status = 1
    try:
        become_a_fresh_process(work, temporary, output)
        status = run_script(display, script, result, device, timeout)
    except BaseException:  # a failure of the runner itself: show it rather than die silently
        traceback.print_exc()
    finally:
        os._exit(status)


def become_a_fresh_process(work: Path, temporary: Path, output: Path) -> None:
    os.setpgid(0, 0)  # the server ends the whole group: nothing the snippet starts outlives it
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    capture_output(output)
    # A fresh interpreter seeds Python's and NumPy's global generators from the OS; a fork would
    # inherit the server's. So does torch's default generator, on releases that seed it from the OS
    # in each process (2.13 does; older ones start it from a fixed seed, which the fork inherits).
    random.seed()
    numpy.random.seed()
    if torch_seeds_each_process():
        torch.seed()
    os.chdir(work)
    os.environ["TMPDIR"] = str(temporary)
    tempfile.tempdir = str(temporary)
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


@functools.cache  # asked by the server before it forks: a child's own generator may be seeded already
def torch_seeds_each_process() -> bool:
    """Whether a new process's default generator starts from a seed of its own, rather than from
    the one a new torch.Generator() starts from."""
    return torch.initial_seed() != torch.Generator().initial_seed()


def capture_output(output: Path) -> None:
    """Send everything written to stdout and stderr, at the file-descriptor level, to `output`."""
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)  # where a hung run is
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # blocked by the server until now


def run_script(display: str, script: Path, result: Path, device: str, timeout: float) -> int:
    for name in os.environ.pop(UNSET_IN_SNIPPETS, "").split():
        os.environ.pop(name, None)  # set for the server alone (runner._Server)
    source = script.read_text(encoding="utf-8")
    sys.argv = [display]
    sys.path.insert(0, str(script.parent))
    namespace = {"__name__": "__main__", "__file__": str(script), "__builtins__": __builtins__}
    main_module = type(sys)("__main__")
    main_module.__dict__.update(namespace)
    sys.modules["__main__"] = main_module
    reached: set[str] = set()
    main_module.__dict__[REACHED] = reached
    labels = {assertion.line: label for label, assertion in labelled_assertions(script).items() if assertion.source}
    started = time.perf_counter()
    cancel_time_limit = time_limit.start(timeout, sys.stderr, code_file=display)
    try:
        with _device_scope(device):
            code = compile_with_probes(source, display, labels)
            exec(code, main_module.__dict__)
            _wait_for_threads()
    except BaseException as error:  # SystemExit too: a snippet must run to its end
        cancel_time_limit()
        _write(result, {"traceback": _traceback_from(error, display, script)})
        return 1
    cancel_time_limit()
    seconds = time.perf_counter() - started
    sys.stdout.flush()
    sys.stderr.flush()
    _write(result, {"facts": facts_of(main_module.__dict__), "seconds": seconds, "witnesses_reached": sorted(reached)})
    return 0


def _wait_for_threads() -> None:
    """As the interpreter does at exit: wait for the threads that are not daemons."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def _device_scope(device: str) -> ExitStack:
    stack = ExitStack()
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if device == "cpu":
        # CUDA is hidden as the build hides it (runner.build_on_cpu): torch has not started CUDA in
        # this fork yet, so it sees no device, and answers as a GPU-less machine with this build
        # does (current_accelerator() still names the accelerator the build was made for).
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if not torch.backends.mps.is_available():
            return stack
        for target, value in (
            ("torch.cuda.is_available", False),
            ("torch.cuda.device_count", 0),
            ("torch.accelerator.is_available", False),
            ("torch.accelerator.device_count", 0),
            ("torch.accelerator.current_accelerator", None),
            ("torch.backends.mps.is_available", False),
        ):
            stack.enter_context(mock.patch(target, return_value=value))
    return stack


def _traceback_from(error: BaseException, display: str, script: Path) -> str:
    """The traceback from the snippet's own frame down, with the copy's paths as the reader's."""
    trace = traceback.TracebackException.from_exception(error)
    stack = list(trace.stack)
    first = next((i for i, frame in enumerate(stack) if frame.filename == display), len(stack))
    trace.stack = traceback.StackSummary.from_list(stack[first:])
    text = "".join(trace.format())
    if isinstance(error, SystemExit):
        text += f"(the snippet called sys.exit({error.code!r}) before reaching the end of the file)\n"
    return text


def _write(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")

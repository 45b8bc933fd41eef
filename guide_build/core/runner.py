"""Run a snippet file as `python snippets/<chapter>/<file>.py` would, each in a process of its own.

The site build and the tests both run snippets through `run_snippet`, so a snippet behaves the
same on the page, in pytest and in a reader's terminal. The runs happen in forks of one
long-lived server process (guide_build.core.snippet_server) that has imported torch already, so a
hundred snippets do not pay a hundred torch imports, and none of them can change what another
prints. This module is the client: it starts the server on first use, restarts it if it dies,
and sends it one request per run. It is safe to use from several threads at once.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from guide_build.core.run_outcome import longest_run
from guide_build.core.snippet_options import CUDA_TIMEOUT_FACTOR, DEFAULT_OUTPUT_LIMIT, BadOption, options_of

DEVICES = ("auto", "cpu", "cuda")
# Snippets compute on one CPU thread, as torchrun's workers do when it starts several per machine:
# a float sum split across threads adds up in an order that depends on the thread count (by
# default the core count), so the last digits a page prints would change with the machine. (It also keeps two runs side by side from fighting
# over the cores.)
ONE_THREAD = "1"
UNSET_IN_SNIPPETS = "GUIDE_UNSET_IN_SNIPPETS"  # variables set for the snippet server, not its snippets
_SERVER_START_TIMEOUT = 120.0  # seconds to import torch on a busy machine


@dataclass(frozen=True)
class SnippetRun:
    """What one run of a snippet printed, the simple values it computed and how long it took."""

    path: str
    device: str
    output: str
    facts: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    witnesses_reached: list[str] = field(default_factory=list)  # labels of the assertions that ran
    figures: dict[str, str] = field(default_factory=dict)  # name -> SVG text, for `# guide: figure=`


class SnippetFailed(Exception):
    """A snippet failed. The message says why: its traceback, or how the process ended."""

    def __init__(self, path: str, traceback_text: str, output: str = "") -> None:
        super().__init__(traceback_text)
        self.path = path
        self.traceback_text = traceback_text
        self.output = output


def run_snippet(path: str | Path, *, device: str = "auto") -> SnippetRun:
    """Run the snippet at `path` in a fresh process and return its printed output and facts.

    `device` is "auto" (whatever the machine has, as a reader would get), "cpu" (accelerators are
    hidden from the snippet) or "cuda" (CUDA must be present). Raises SnippetFailed.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"snippet not found: {path}")
    display = path.as_posix()
    try:
        options = options_of(path)
    except BadOption as error:
        raise SnippetFailed(display, str(error)) from None
    timeout = options.timeout * (CUDA_TIMEOUT_FACTOR if device == "cuda" else 1)
    request = {
        "path": display,
        "device": device,
        "timeout": timeout,
        "output_limit": DEFAULT_OUTPUT_LIMIT,
        "ranks": options.ranks,
        "figures": list(options.figures),
    }
    try:  # never wait forever on an answer, even if the server itself stops answering
        answer = _server().ask(request, wait=longest_run(timeout, bool(options.ranks)) + _SERVER_START_TIMEOUT)
    except (TimeoutError, RuntimeError) as error:
        raise SnippetFailed(
            display, f"{display} could not be run: {error or 'the snippet server did not answer'}"
        ) from None
    if answer["failure"] is not None:
        raise SnippetFailed(display, answer["failure"], answer["output"])
    if answer.get("relaunched_after"):  # passed at the second launch: keep the rate of such races visible
        print(f"note: {answer['relaunched_after']} A second launch passed.", file=sys.stderr, flush=True)
    return SnippetRun(
        display,
        device,
        answer["output"],
        answer["facts"],
        answer["seconds"],
        answer["witnesses_reached"],
        answer["figures"],
    )


def build_on_cpu() -> None:
    """Hide CUDA devices from this process's snippet runs: the site is built on the CPU wherever it
    is built, so that its pages, and the statements they mark as checked, are the same on a GPU
    machine as in CI. What CUDA prints comes from the recorded GPU test run (gpu_record)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ""


def prestart() -> None:
    """Start the server now (it imports torch in the background) so the first run does not wait."""
    _server()


class _Server:
    def __init__(self) -> None:
        environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if "PYTORCH_NVML_BASED_CUDA_CHECK" not in environment:
            # The server must not start CUDA before it forks, so NVML answers is_available() there;
            # a snippet gets the variable as a reader's shell has it, unset (snippet_child).
            environment["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
            environment[UNSET_IN_SNIPPETS] = "PYTORCH_NVML_BASED_CUDA_CHECK"
        environment["OMP_NUM_THREADS"] = ONE_THREAD
        package_root = str(Path(__file__).resolve().parents[2])
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, environment.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "guide_build.core.snippet_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            start_new_session=True,  # Ctrl-C in a terminal reaches the build, which then closes us
        )
        self._ids = itertools.count()
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._ready = Future()
        threading.Thread(target=self._read_answers, daemon=True, name="snippet-server-reader").start()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def ask(self, request: dict, wait: float) -> dict:
        self._ready.result(timeout=_SERVER_START_TIMEOUT)
        answer: Future = Future()
        with self._lock:
            request = {**request, "id": next(self._ids)}
            self._pending[request["id"]] = answer
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
        return answer.result(timeout=wait)

    def _read_answers(self) -> None:
        for line in self._process.stdout:
            message = json.loads(line)
            if message.get("ready"):
                self._ready.set_result(True)
                continue
            with self._lock:
                future = self._pending.pop(message["id"])
            future.set_result(message)
        error = RuntimeError(f"the snippet server stopped (exit status {self._process.wait()})")
        if not self._ready.done():
            self._ready.set_exception(error)
        with self._lock:
            for future in self._pending.values():
                future.set_exception(error)
            self._pending.clear()

    def close(self) -> None:
        if self.alive:
            self._process.stdin.close()  # the server finishes its runs and exits
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()


_current: _Server | None = None
_current_lock = threading.Lock()


def _server() -> _Server:
    global _current
    with _current_lock:
        if _current is None or not _current.alive:
            _current = _Server()
        return _current


@atexit.register
def _close() -> None:
    if _current is not None:
        _current.close()


def main(arguments: list[str]) -> int:
    """`python -m guide_build.core.runner snippets/<chapter>/<file>.py [cpu|cuda]`: run one
    snippet as the build does (a distributed one with its ranks) and print what the page would show."""
    if not 1 <= len(arguments) <= 2:
        print(main.__doc__, file=sys.stderr)
        return 2
    try:
        run = run_snippet(arguments[0], device=arguments[1] if len(arguments) == 2 else "auto")
    except SnippetFailed as failure:
        print(failure.output, failure.traceback_text, sep="\n", file=sys.stderr)
        return 1
    print(run.output, end="")
    print(f"-- facts: {run.facts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

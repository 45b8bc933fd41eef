"""Each chapter's notebook, run from top to bottom once per test session and device, by whichever
pytest-xdist worker asks first (the others read the run from disk), in a Jupyter kernel that the
worker keeps for the session.

Two kinds of test read a run: tests/test_notebooks.py (the notebook runs, and every cell prints)
and tests/test_snippets.py (each snippet printed and computed, in its cell, what the build showed:
on a clean clone, that cell is the snippet's second run of the session). So after each cell that
runs a snippet, a cell of the tests' own prints the snippet's facts (guide_build.core.facts) and
the figures it declares, as the kernel holds them then. A distributed example is not run: its
cell launches torchrun, which tests/test_notebooks.py checks by other means.

A reader runs each notebook in a kernel of its own; the tests' kernel runs one notebook after
another, in whatever order the workers ask for them, and some state outlives the namespace reset
between them (a warning that torch gives once per process, say). So a notebook that fails in the
shared kernel runs again in a fresh one, and that run is the one recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from filelock import FileLock
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from guide_build.core.notebooks import snippet_of
from guide_build.core.snippet_options import options_of

# Before each notebook: the last one's names dropped; then torch imported and everything the kernel
# holds frozen, out of the garbage collector's way (its collections walked those hundreds of
# thousands of objects again and again: a third of the run). What a notebook creates is collected
# as in a reader's kernel, and no name is bound: a notebook that forgets an import still fails.
FRESH_NAMESPACE = '%reset -f\n__import__("torch")\n__import__("gc").collect()\n__import__("gc").freeze()'
TORCHRUN_CELL = re.compile(r"^!torchrun --nproc-per-node (?P<ranks>\d+) (?P<file>\w+\.py)$")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # in the kernel's tracebacks
_CELL_TIMEOUT = 300  # seconds
_START_TIMEOUT = 60  # seconds for a new kernel to answer, as nbclient's default


@dataclass
class CellRun:
    """What a code cell of the published notebook did when the notebook ran."""

    snippet: str | None  # the snippet the cell runs, if it runs one
    printed: str = ""  # its stdout and stderr, in order
    error: str | None = None  # the error it raised
    facts: dict | None = None  # the snippet's facts after the cell (None: not read)
    figures: dict[str, str] = field(default_factory=dict)  # the figures it declares, as it saved them


@dataclass
class NotebookRun:
    cells: list[CellRun]  # one per code cell of the published notebook, in order
    stopped: str | None = None  # why the run stopped before the end, if it did

    def of_snippet(self, path: str) -> CellRun | None:
        return next((cell for cell in self.cells if cell.snippet == path), None)


class Kernels:
    """This process's Jupyter kernels, one per device, each started when first needed. The CPU
    kernel sees no GPU, and runs the examples with one thread, as the build does."""

    def __init__(self, workdirs: Path, bin_dir: Path) -> None:
        self.workdirs, self.bin_dir = workdirs, bin_dir
        self.started: dict[str, tuple[KernelManager, Path]] = {}

    def get(self, device: str) -> tuple[KernelManager, Path]:
        if device not in self.started:
            workdir = self.workdirs / f"notebooks-{device}-{os.getpid()}"
            workdir.mkdir(parents=True, exist_ok=True)
            environment = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "OMP_NUM_THREADS": "1"}
            if device == "cpu":
                environment["CUDA_VISIBLE_DEVICES"] = ""
            environment["PET_STANDALONE"] = "1"  # torchrun picks a free port: runs side by side never meet
            environment["PATH"] = f"{self.bin_dir}{os.pathsep}{environment.get('PATH', '')}"  # as when activated
            self.started[device] = (_answering_kernel(environment, workdir), workdir)
        return self.started[device]

    def restart(self, device: str) -> None:
        """Let the next `get` start a fresh kernel for the device."""
        if device in self.started:
            self.started.pop(device)[0].shutdown_kernel(now=True)

    def shutdown(self) -> None:
        for device in list(self.started):
            self.restart(device)


def _answering_kernel(environment: dict[str, str], workdir: Path, tries: int = 3) -> KernelManager:
    """A kernel that has answered. Its ports are picked free, but another process (a torchrun run
    beside it) can take one before the kernel binds it, and the kernel then dies at once: start
    it again, on new ports."""
    for attempt in range(1, tries + 1):
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(env=environment, cwd=str(workdir))
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=_START_TIMEOUT)
            return manager
        except BaseException as error:  # leave no kernel running, whatever stopped the wait
            manager.shutdown_kernel(now=True)
            # RuntimeError: it died, or did not answer in time; anything else (the test's time
            # limit, an interrupt) is not the kernel's fault, so it is not tried again
            if not isinstance(error, RuntimeError) or attempt == tries:
                raise
        finally:
            client.stop_channels()
    raise AssertionError("unreachable")


def execute(notebook: nbformat.NotebookNode, kernels: Kernels, device: str) -> None:
    """Run the notebook's cells in the device's kernel; raises at the first error."""
    manager, workdir = kernels.get(device)
    resources = {"metadata": {"path": str(workdir)}}
    NotebookClient(notebook, km=manager, timeout=_CELL_TIMEOUT, allow_errors=False, resources=resources).execute()


def run_notebook(notebook: nbformat.NotebookNode, kernels: Kernels, device: str) -> NotebookRun:
    """Run a published notebook as a reader would, with its torchrun launches left out, and record
    what each code cell did."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    copies = [nbformat.v4.new_code_cell(cell.source) for cell in code_cells]  # with no outputs yet
    probes: dict[int, nbformat.NotebookNode] = {}
    runnable = [nbformat.v4.new_code_cell(FRESH_NAMESPACE)]
    for index, (cell, copy) in enumerate(zip(code_cells, copies, strict=True)):
        launches = TORCHRUN_CELL.match(cell.source)
        if launches:
            copy.source = f"# {cell.source} (checked by tests/test_notebooks.py)"
        runnable.append(copy)
        if snippet_of(cell) and not launches:
            probes[index] = nbformat.v4.new_code_cell(_probe(snippet_of(cell)))
            runnable.append(probes[index])
    stopped = None
    try:
        execute(nbformat.v4.new_notebook(cells=runnable), kernels, device)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        stopped = (ANSI_COLOUR.sub("", str(error)).strip().splitlines() or [type(error).__name__])[-1][:500]
    cells = []
    for index, (cell, copy) in enumerate(zip(code_cells, copies, strict=True)):
        read = _read_probe(probes.get(index))
        cells.append(CellRun(snippet_of(cell), printed(copy), _error(copy), read.get("facts"), read.get("figures", {})))
    return NotebookRun(cells, stopped)


def _probe(snippet: str) -> str:
    """A cell that prints, as one JSON line, the facts the kernel holds and the snippet's figures."""
    figures = list(options_of(snippet).figures)
    return (
        f"print(__import__('json').dumps({{'facts': __import__('guide_build.core.facts', fromlist=['_'])"
        f".facts_of(globals()), 'figures': {{name: open(name, encoding='utf-8').read() for name in {figures!r}"
        f" if __import__('os').path.isfile(name)}}}}))"
    )


def _read_probe(cell: nbformat.NotebookNode | None) -> dict:
    if cell is None or _error(cell) is not None:
        return {}
    text = printed(cell).strip()
    return json.loads(text.splitlines()[-1]) if text else {}


def printed(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed: its stream outputs, stdout and stderr, in order."""
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream")


def _error(cell: nbformat.NotebookNode) -> str | None:
    errors = [output for output in cell.get("outputs", []) if output.output_type == "error"]
    return f"{errors[0].ename}: {errors[0].evalue}" if errors else None


class SharedNotebookRuns:
    """Notebook runs made once per session and device, whichever worker asks first."""

    def __init__(self, shared: Path, kernels: Kernels) -> None:
        self.folder = shared / "notebook-runs"
        self.folder.mkdir(exist_ok=True)
        self.kernels = kernels

    def get(self, notebook_file: Path, device: str) -> NotebookRun:
        name = hashlib.sha256(f"{device} {notebook_file}".encode()).hexdigest()[:24]
        entry = self.folder / f"{name}.json"
        with FileLock(str(self.folder / f"{name}.lock")):
            if not entry.is_file():
                notebook = nbformat.read(notebook_file, as_version=4)
                run = run_notebook(notebook, self.kernels, device)
                if run.stopped:  # again in a fresh kernel, as a reader's is: see the module's docstring
                    self.kernels.restart(device)
                    run = run_notebook(notebook, self.kernels, device)
                temporary = entry.with_suffix(".tmp")
                temporary.write_text(json.dumps(asdict(run)), encoding="utf-8")
                temporary.replace(entry)
        stored = json.loads(entry.read_text(encoding="utf-8"))
        return NotebookRun([CellRun(**cell) for cell in stored["cells"]], stored["stopped"])

"""Every chapter's generated notebook runs from top to bottom, on CPU and on CUDA.

One kernel per device serves all notebooks (its namespace is reset before each one), so torch is
imported once rather than once per chapter. The CPU kernel is started with no visible GPU.

A distributed example is two cells: `%%writefile NN_topic.py` and `!torchrun --nproc-per-node 2
NN_topic.py`. A real torchrun starts three interpreters; for all but one such cell the test runs the
written file through the guide's runner instead, which starts its ranks as torchrun does
(tests/test_distributed_runner.py holds it to that), and requires the page's output from it.
`test_a_torchrun_cell_runs_as_written` runs one cell's real command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, DEVICES, PAGES, executed_snippets
from jupyter_client import KernelManager
from nbclient import NotebookClient

CHAPTERS = [page for page in PAGES if "/" in page.removeprefix("docs/") and executed_snippets(page)]


def notebook_of(site: Path, page: str) -> Path:
    stem = Path(page).relative_to("docs").with_suffix("")
    return site / "notebooks" / stem / f"{stem.name}.ipynb"


@pytest.fixture(scope="module", params=DEVICES)
def kernel(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"notebooks-{request.param}")
    environment = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if request.param == "cpu":
        environment["CUDA_VISIBLE_DEVICES"] = ""
    environment["PET_STANDALONE"] = "1"  # torchrun picks a free port: runs side by side never meet
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"  # as in an activated environment
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=environment, cwd=str(workdir))
    yield manager, workdir, request.param
    manager.shutdown_kernel(now=True)


def test_every_chapter_has_a_notebook(site):
    assert CHAPTERS and all(notebook_of(site, page).is_file() for page in CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS)
def test_notebook_runs_top_to_bottom(site, page, kernel):
    manager, workdir, device = kernel
    notebook = nbformat.read(notebook_of(site, page), as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs for cell in code_cells), "the published notebook carries the build's outputs"
    shown = {id(cell): printed(cell) for cell in code_cells}
    written: set[str] = set()
    for cell in code_cells:
        if cell.source.startswith("%%writefile "):
            written.add(cell.source.split()[1])
        elif launch := TORCHRUN_CELL.match(cell.source):
            assert launch["file"] in written, f"{cell.source}: no earlier cell writes {launch['file']}"
            cell.source = through_the_guides_runner(launch["file"], device)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    execute(notebook, manager, workdir)
    for cell in code_cells:
        assert not [output for output in cell.outputs if output.output_type == "error"]
        assert any(output.get("text") for output in cell.outputs), f"a cell printed nothing:\n{cell.source[:200]}"
        if cell.source.startswith(RUNNER_CELL_START):
            assert printed(cell) == shown[id(cell)], f"{cell.source}: printed something else than the page"


TORCHRUN_CELL = re.compile(r"^!torchrun --nproc-per-node (?P<ranks>\d+) (?P<file>\w+\.py)$")
RUNNER_CELL_START = "from guide_build.core.runner import run_snippet"


def through_the_guides_runner(file: str, device: str) -> str:
    return f"{RUNNER_CELL_START}\nprint(run_snippet({file!r}, device={device!r}).output, end='')"


def printed(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def execute(notebook, manager: KernelManager, workdir: Path) -> None:
    NotebookClient(
        notebook, km=manager, timeout=300, allow_errors=False, resources={"metadata": {"path": str(workdir)}}
    ).execute()


def test_a_torchrun_cell_runs_as_written(site, kernel):
    """The first distributed example's two cells as the notebook has them: a real torchrun."""
    manager, workdir, device = kernel
    page = next(page for page in CHAPTERS if "!torchrun" in notebook_of(site, page).read_text(encoding="utf-8"))
    cells = nbformat.read(notebook_of(site, page), as_version=4).cells
    launch = next(index for index, cell in enumerate(cells) if TORCHRUN_CELL.match(cell.source))
    pair = [cells[launch - 1], cells[launch]]
    shown = printed(pair[1])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%reset -f"), *pair])
    execute(notebook, manager, workdir)
    # torchrun interleaves the ranks' lines, after its own log lines (the OMP_NUM_THREADS notice);
    # the page labels each line with its rank and puts rank 0's first.
    from_ranks = [line for line in printed(pair[1]).splitlines() if not TORCHRUN_LOG_LINE.match(line)]
    assert sorted(from_ranks) == sorted(line.split(": ", 1)[1] for line in shown.splitlines())


TORCHRUN_LOG_LINE = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")  # glog style, as torchrun logs

"""Every chapter's generated notebook runs from top to bottom, on CPU and on CUDA.

One kernel per device serves all notebooks (its namespace is reset before each one), so torch is
imported once rather than once per chapter. The CPU kernel is started with no visible GPU.

A distributed example is two cells: `%%writefile NN_topic.py` and `!torchrun --nproc-per-node 2
NN_topic.py`. A real torchrun starts three interpreters, so the notebook run here writes the file
and checks instead that it is byte for byte the snippet the page runs, that the cell launches it
with the snippet's number of ranks, and that the cell shows what this session's run of that
snippet printed (tests/test_distributed_runner.py holds the runner to torchrun itself);
`test_a_torchrun_cell_runs_as_written` runs one cell's real command.

A notebook that passed here before, its cells and this file unchanged, in the same environment,
is not run again, but for one such notebook a session, drawn anew each time by the seed of the
snippets' sample (tests/session_store.py): a chapter's notebook runs the whole chapter, so one a
session keeps the check of the cache at the cost of one chapter. A failure forgets that it passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, BUILD_DEVICE, DEVICES, PAGES, ROOT, executed_snippets, reuse_of_cached_runs
from jupyter_client import KernelManager
from mkdocs.utils.yaml import yaml_load
from nbclient import NotebookClient
from torchrun_conformance import GLOO_EXIT_ABORT

from guide_build.core import cache
from guide_build.core.inventory import nav_pages
from guide_build.core.page_source import displayed_lines
from guide_build.core.snippet_options import options_of

CHAPTERS = [page for page in PAGES if "/" in page.removeprefix("docs/") and executed_snippets(page)]
READING_ORDER = [
    f"docs/{page}" for _, page in nav_pages(yaml_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
]


def notebook_of(site: Path, page: str) -> Path:
    stem = Path(page).relative_to("docs").with_suffix("")
    return site / "notebooks" / stem / f"{stem.name}.ipynb"


@pytest.fixture(scope="module", params=DEVICES)
def kernel(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"notebooks-{request.param}")
    environment = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if request.param == "cpu":
        environment["CUDA_VISIBLE_DEVICES"] = ""
    environment["OMP_NUM_THREADS"] = "1"  # as the build ran the examples (guide_build/core/runner.py)
    environment["PET_STANDALONE"] = "1"  # torchrun picks a free port: runs side by side never meet
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"  # as in an activated environment
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=environment, cwd=str(workdir))
    yield manager, workdir, request.param
    manager.shutdown_kernel(now=True)


def test_every_chapter_has_a_notebook(site):
    assert CHAPTERS and all(notebook_of(site, page).is_file() for page in CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS)
def test_notebook_runs_top_to_bottom(request, site, page, kernel, snippet_run):
    manager, workdir, device = kernel
    notebook = nbformat.read(notebook_of(site, page), as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs for cell in code_cells), "the published notebook carries the build's outputs"
    snippets = {Path(path).name: path for path in executed_snippets(page)}
    written: dict[str, str] = {}  # file name -> the source a %%writefile cell gives it
    for cell in code_cells:
        if cell.source.startswith("%%writefile "):
            name = cell.source.split()[1]
            written[name] = cell.source.split("\n", 1)[1]
        elif launch := TORCHRUN_CELL.match(cell.source):
            name, snippet = launch["file"], snippets[launch["file"]]
            assert written.get(name) == "\n".join(displayed_lines(Path(snippet))).strip("\n"), f"{name} differs"
            assert int(launch["ranks"]) == options_of(snippet).ranks, f"{cell.source}: not the snippet's ranks"
            assert printed(cell) == snippet_run(snippet, BUILD_DEVICE).output, f"{cell.source}: not the page's output"
            cell.source = f"# {cell.source} (checked above)"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FRESH_NAMESPACE))
    passed = passed_before(request.config, page, notebook, device)
    passed.unlink(missing_ok=True)  # passed again only once it has
    execute(notebook, manager, workdir)
    for cell in code_cells:
        assert not [output for output in cell.outputs if output.output_type == "error"]
        if not cell.source.startswith("# !torchrun"):
            assert any(output.get("text") for output in cell.outputs), f"a cell printed nothing:\n{cell.source[:200]}"
    passed.touch()


# Before each notebook: the last one's names dropped; then torch imported and everything the kernel
# holds frozen, out of the garbage collector's way (its collections walked those hundreds of
# thousands of objects again and again: a third of the run). What a notebook creates is collected
# as in a reader's kernel, and no name is bound: a notebook that forgets an import still fails.
FRESH_NAMESPACE = '%reset -f\n__import__("torch")\n__import__("gc").collect()\n__import__("gc").freeze()'
TORCHRUN_CELL = re.compile(r"^!torchrun --nproc-per-node (?P<ranks>\d+) (?P<file>\w+\.py)$")


SAMPLED = [*CHAPTERS, "torchrun cell"]  # what passed_before draws one of


def passed_before(config: pytest.Config, name: str, notebook, device: str) -> Path:
    """Skip the test if this notebook passed here before, with this file's checks, in this
    environment, and it is not the one the session draws; else return the file that records its pass."""
    cells = [{field: value for field, value in cell.items() if field != "id"} for cell in notebook.cells]  # ids: random
    checks = Path(__file__).read_text(encoding="utf-8")
    written = json.dumps([notebook.metadata, cells, checks, cache.environment_fingerprint(device)], sort_keys=True)
    record = cache.cache_dir() / f"notebook-{hashlib.sha256(written.encode()).hexdigest()}.passed"
    reuse = reuse_of_cached_runs(config)
    if record.is_file() and reuse.stands_in(device) and name != reuse.first_drawn(SAMPLED):
        pytest.skip("passed in an earlier session, the same notebook in the same environment; not drawn this session")
    return record


def printed(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def execute(notebook, manager: KernelManager, workdir: Path) -> None:
    NotebookClient(
        notebook, km=manager, timeout=300, allow_errors=False, resources={"metadata": {"path": str(workdir)}}
    ).execute()


def test_a_torchrun_cell_runs_as_written(request, site, kernel):
    """The first distributed example a reader meets, its two cells as the notebook has them: a
    real torchrun."""
    manager, workdir, device = kernel
    chapters = [page for page in READING_ORDER if page in CHAPTERS]
    page = next(page for page in chapters if "!torchrun" in notebook_of(site, page).read_text(encoding="utf-8"))
    cells = nbformat.read(notebook_of(site, page), as_version=4).cells
    launch = next(index for index, cell in enumerate(cells) if TORCHRUN_CELL.match(cell.source))
    pair = [cells[launch - 1], cells[launch]]
    shown = printed(pair[1])
    passed = passed_before(request.config, "torchrun cell", nbformat.v4.new_notebook(cells=pair), device)
    passed.unlink(missing_ok=True)
    for _ in range(3):  # gloo's abort at exit, which the DDP page describes, is not the notebook's fault
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FRESH_NAMESPACE), *pair])
        execute(notebook, manager, workdir)
        if GLOO_EXIT_ABORT not in printed(pair[1]):
            break
    # torchrun's ranks share its standard output, after its own log lines (the OMP_NUM_THREADS
    # notice): their lines come in any order, and two ranks' writes can even meet inside a line
    # ("after all_reduce:  3after all_reduce:  3", then an empty line). The page labels each line
    # with its rank and puts rank 0's first. So: every line the page shows is printed whole, as
    # often as the page shows it, and nothing else is printed.
    from_ranks = "\n".join(line for line in printed(pair[1]).splitlines() if not TORCHRUN_LOG_LINE.match(line))
    expected = [line.split(": ", 1)[1] for line in shown.splitlines()]
    assert sorted(from_ranks.replace("\n", "")) == sorted("".join(expected)), from_ranks
    assert all(from_ranks.count(line) >= expected.count(line) for line in expected), from_ranks
    passed.touch()


TORCHRUN_LOG_LINE = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")  # glog style, as torchrun logs

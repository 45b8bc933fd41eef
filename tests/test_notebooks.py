"""Every chapter's generated notebook runs from top to bottom, on CPU and on CUDA.

The session runs each notebook once (tests/notebook_runs.py), in a kernel per worker and device
that serves all the notebooks the worker runs (its namespace is reset before each one), so torch
is imported once per kernel rather than once per chapter. The CPU kernel sees no GPU. The same
run is the second run of the chapter's snippets on a clean clone (tests/test_snippets.py).

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
import re
from pathlib import Path

import nbformat
import notebook_runs
import pytest
from conftest import (
    BUILD_DEVICE,
    CHAPTERS,
    CHAPTERS_FROM_THE_OTHER_END,
    DEVICES,
    ROOT,
    executed_snippets,
    notebook_of,
    reuse_of_cached_runs,
)
from mkdocs.utils.yaml import yaml_load
from notebook_runs import FRESH_NAMESPACE, TORCHRUN_CELL, execute, printed
from torchrun_conformance import GLOO_EXIT_ABORT

from guide_build.core import cache
from guide_build.core.inventory import nav_pages
from guide_build.core.page_source import displayed_lines
from guide_build.core.snippet_options import options_of

READING_ORDER = [
    f"docs/{page}" for _, page in nav_pages(yaml_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
]


def test_every_chapter_has_a_notebook(site):
    assert CHAPTERS and all(notebook_of(site, page).is_file() for page in CHAPTERS)


def test_no_markdown_cell_opens_with_text_that_jupyter_shows_as_code(site):
    """A markdown cell whose first line is indented four spaces or more opens with an indented
    code block in Jupyter: prose that the page indents under a list item or a box must not."""
    indented = [
        f"{page}: cell {number}: {cell.source.splitlines()[0].strip()[:60]}"
        for page in CHAPTERS
        for number, cell in enumerate(nbformat.read(notebook_of(site, page), as_version=4).cells)
        if cell.cell_type == "markdown" and re.match(r" {4}", cell.source)
    ]
    assert indented == []


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("page", CHAPTERS_FROM_THE_OTHER_END)  # not the order test_snippets.py needs them in
def test_notebook_runs_top_to_bottom(request, site, page, device, notebook_run, snippet_run):
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
    passed = passed_before(request.config, page, notebook, device)
    passed.unlink(missing_ok=True)  # passed again only once it has
    run = notebook_run(page, device)
    for cell, ran in zip(code_cells, run.cells, strict=True):
        assert ran.error is None, f"{ran.error}\nraised by the cell:\n{cell.source[:500]}"
        if not TORCHRUN_CELL.match(cell.source):
            assert ran.printed, f"a cell printed nothing:\n{cell.source[:200]}"
    assert run.stopped is None, run.stopped
    passed.touch()


SAMPLED = [*CHAPTERS, "torchrun cell"]  # what passed_before draws one of


def passed_before(config: pytest.Config, name: str, notebook, device: str) -> Path:
    """Skip the test if this notebook passed here before, with this file's checks, in this
    environment, and it is not the one the session draws; else return the file that records its pass."""
    cells = [{field: value for field, value in cell.items() if field != "id"} for cell in notebook.cells]  # ids: random
    checks = "".join(Path(module).read_text(encoding="utf-8") for module in (__file__, notebook_runs.__file__))
    written = json.dumps([notebook.metadata, cells, checks, cache.environment_fingerprint(device)], sort_keys=True)
    record = cache.cache_dir() / f"notebook-{hashlib.sha256(written.encode()).hexdigest()}.passed"
    reuse = reuse_of_cached_runs(config)
    if record.is_file() and reuse.stands_in(device) and name != reuse.first_drawn(SAMPLED):
        pytest.skip("passed in an earlier session, the same notebook in the same environment; not drawn this session")
    return record


@pytest.mark.parametrize("device", DEVICES)
def test_a_torchrun_cell_runs_as_written(request, site, device, notebook_kernels):
    """The first distributed example a reader meets, its two cells as the notebook has them: a
    real torchrun."""
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
        execute(notebook, notebook_kernels, device)
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


def test_a_notebook_run_records_each_snippet_cell_and_retries_a_failure_in_a_fresh_kernel(tmp_path, notebook_kernels):
    """What tests/test_snippets.py compares with the build's run: a snippet cell's printed text,
    and its facts and figures read right after it; a failure is recorded with its cell. A notebook
    that fails only through what an earlier notebook left in the shared kernel runs again in a
    fresh one (a reader's kernel runs one notebook)."""
    snippet = tmp_path / "01_total.py"
    snippet.write_text("# guide: figure=bars.svg\n", encoding="utf-8")
    source = "total = 15\nname = 'sevenths'\nopen('bars.svg', 'w').write('<svg/>')\nprint(total, name)"
    cell = nbformat.v4.new_code_cell(source, metadata={"pytorch_builders_guide": {"snippet": str(snippet)}})
    first_in_a_process = (  # passes in a fresh kernel only
        "import sys\nassert not hasattr(sys, 'guide_test_mark'), 'an earlier notebook ran here'\n"
        "sys.guide_test_mark = 1\nprint('first')"
    )
    files = {}
    for name, cells in {
        "ok": [nbformat.v4.new_markdown_cell("# A chapter"), cell, nbformat.v4.new_code_cell(first_in_a_process)],
        "fails": [cell, nbformat.v4.new_code_cell("print('before')\n1 / 0"), nbformat.v4.new_code_cell("print(2)")],
        "again": [nbformat.v4.new_code_cell(first_in_a_process)],
    }.items():
        files[name] = tmp_path / f"{name}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=cells), files[name])
    (tmp_path / "session").mkdir()
    runs = notebook_runs.SharedNotebookRuns(tmp_path / "session", notebook_kernels)

    ok = runs.get(files["ok"], "cpu")
    assert ok.stopped is None and ok.of_snippet(str(snippet)).printed == "15 sevenths\n"
    assert {"total": 15, "name": "sevenths"}.items() <= ok.of_snippet(str(snippet)).facts.items()
    assert ok.of_snippet(str(snippet)).figures == {"bars.svg": "<svg/>"}
    assert ok.cells[1] == notebook_runs.CellRun(None, "first\n")

    kernel = notebook_kernels.get("cpu")[0]
    again = runs.get(files["again"], "cpu")  # fails in the kernel that ran "ok", then passes in a fresh one
    assert again.stopped is None and again.cells[0].printed == "first\n"
    assert notebook_kernels.get("cpu")[0] is not kernel

    fails = runs.get(files["fails"], "cpu")
    assert fails.stopped and "ZeroDivisionError" in fails.stopped
    recorded = [(cell.printed, cell.error) for cell in fails.cells[1:]]
    assert recorded == [("before\n", "ZeroDivisionError: division by zero"), ("", None)]


def test_a_kernel_that_dies_at_start_is_started_again_on_new_ports(monkeypatch, tmp_path):
    """A port picked free can be taken before the kernel binds it: the kernel dies before it
    answers, and a fresh one is started instead of every later notebook failing with it."""
    started, answers = [], iter([RuntimeError("Kernel died before replying to kernel_info"), None])

    class Client:
        def start_channels(self) -> None: ...
        def stop_channels(self) -> None: ...

        def wait_for_ready(self, timeout: float) -> None:
            if (answer := next(answers)) is not None:
                raise answer

    class Manager:
        def __init__(self, kernel_name: str) -> None:
            self.shut_down = False
            started.append(self)

        def start_kernel(self, env: dict, cwd: str) -> None: ...
        def client(self) -> Client:
            return Client()

        def shutdown_kernel(self, now: bool) -> None:
            self.shut_down = True

    monkeypatch.setattr(notebook_runs, "KernelManager", Manager)
    manager = notebook_runs._answering_kernel({}, tmp_path)
    assert manager is started[1] and started[0].shut_down and not started[1].shut_down

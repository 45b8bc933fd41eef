"""Every chapter's generated notebook runs from top to bottom, on CPU and on CUDA.

One kernel per device serves all notebooks (its namespace is reset before each one), so torch is
imported once rather than once per chapter. The CPU kernel is started with no visible GPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from conftest import DEVICES, PAGES, executed_snippets
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
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=environment, cwd=str(workdir))
    yield manager, workdir
    manager.shutdown_kernel(now=True)


def test_every_chapter_has_a_notebook(site):
    assert CHAPTERS and all(notebook_of(site, page).is_file() for page in CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS)
def test_notebook_runs_top_to_bottom(site, page, kernel):
    manager, workdir = kernel
    notebook = nbformat.read(notebook_of(site, page), as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs for cell in code_cells), "the published notebook carries the build's outputs"
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    NotebookClient(
        notebook, km=manager, timeout=300, allow_errors=False, resources={"metadata": {"path": str(workdir)}}
    ).execute()
    for cell in code_cells:
        assert not [output for output in cell.outputs if output.output_type == "error"]
        assert any(output.get("text") for output in cell.outputs), f"a cell printed nothing:\n{cell.source[:200]}"

"""Fixtures and lists shared by the tests. The pytest hooks live in guide_build/pytest_plugin.py."""

from __future__ import annotations

import datetime
import functools
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from bs4 import BeautifulSoup
from filelock import FileLock
from site_build import build_site

from guide_build.core import gpu_record
from guide_build.core.inventory import whole_file_includes
from guide_build.core.runner import SnippetFailed, SnippetRun, run_snippet

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "snippets").rglob("*.py"))
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
BIN = Path(sys.executable).parent
CUDA = torch.cuda.is_available()
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not CUDA, reason="no CUDA device (REQUIRE_CUDA=1 makes this an error)")
    ),
]


def tool(name: str) -> str:
    """A command-line tool installed with the test extras, found beside this Python first."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert found, f"{name} is not installed (it comes with the test extras: make test installs them)"
    return found


SESSION_RUNS: dict[tuple[str, str], SnippetRun | SnippetFailed] = {}


@pytest.fixture(scope="session")
def snippet_run():
    """`snippet_run(path, device)`: the run of a snippet on a device, computed once per session."""
    runs = SESSION_RUNS

    def get(path: str, device: str) -> SnippetRun:
        key = (path, device)
        if key not in runs:
            try:
                runs[key] = run_snippet(path, device=device)
            except SnippetFailed as failure:
                runs[key] = failure
        result = runs[key]
        if isinstance(result, SnippetFailed):
            pytest.fail(f"{path} failed on {device}:\n{result.traceback_text}", pytrace=False)
        return result

    return get


@pytest.fixture(scope="session")
def site(tmp_path_factory, worker_id) -> Path:
    """The site, built once per test run with `mkdocs build --strict`, and shared by the
    pytest-xdist workers: the first to need it builds it, the others wait for it."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    site_dir, log = shared / "site", shared / "site-build.log"
    with FileLock(str(shared / "site.lock")):
        if not log.is_file():
            result = build_site(ROOT, site_dir)
            log.write_text(f"{result.returncode}\n{result.stderr[-8000:]}", encoding="utf-8")
    returncode, _, stderr = log.read_text(encoding="utf-8").partition("\n")
    assert returncode == "0", f"mkdocs build --strict failed:\n{stderr}"
    return site_dir


def executed_snippets(page: str) -> list[str]:
    """The snippet files a page includes whole (and so runs)."""
    return list(whole_file_includes((ROOT / page).read_text(encoding="utf-8")))


def built_file(site: Path, page: str) -> Path:
    """Where the build writes `docs/<page>.md` (directory URLs: <page>/index.html)."""
    relative = Path(page).relative_to("docs").with_suffix("")
    return site / ("index.html" if relative.name == "index" else relative / "index.html")


@functools.cache  # parsing a page takes a while, and several tests read each one
def built_page(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup(built_file(site, page).read_text(encoding="utf-8"), "html.parser")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With --record-gpu, keep every snippet's CUDA output for the site (if the whole run passed)."""
    if not session.config.getoption("--record-gpu") or exitstatus != 0:
        return
    cuda_runs = {
        path: run for (path, device), run in SESSION_RUNS.items() if device == "cuda" and isinstance(run, SnippetRun)
    }
    assert set(cuda_runs) == set(SNIPPETS), "--record-gpu needs the whole suite to run on CUDA"
    gpu_record.save(
        gpu_record.GpuRun(
            device=torch.cuda.get_device_name(0),
            torch=torch.__version__,
            cuda=str(torch.version.cuda),
            date=datetime.date.today().isoformat(),
            outputs={path: run.output for path, run in sorted(cuda_runs.items())},
            hashes={path: gpu_record.snippet_hash(path) for path in sorted(cuda_runs)},
        ),
        ROOT / gpu_record.RECORD_PATH,
    )

"""Fixtures and lists shared by the tests. The pytest hooks live in guide_build/pytest_plugin.py."""

from __future__ import annotations

import datetime
import functools
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest
import torch
from notebook_runs import Kernels, NotebookRun, SharedNotebookRuns
from session_store import (
    SAMPLE_EVERY,
    Reuse,
    SharedRuns,
    make_runs_ahead,
    session_seed,
    shared_dir,
    start_site_build,
    wait_for_site,
)

from guide_build.core import gpu_record
from guide_build.core.claims import find_claims
from guide_build.core.inventory import whole_file_includes
from guide_build.core.runner import SnippetFailed, SnippetRun
from guide_build.core.snippet_options import options_of

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "snippets").rglob("*.py"))
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
BIN = Path(sys.executable).parent
CUDA = torch.cuda.is_available()
# The CUDA cases are collected on every machine, and deselected where there is no CUDA device
# (guide_build/adapters/pytest_plugin.py counts them in the summary; REQUIRE_CUDA=1 makes a
# missing device an error instead).
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]
BUILD_DEVICE = "cpu"  # the build's "auto" runs see no CUDA device (runner.build_on_cpu)


def tool(name: str) -> str:
    """A command-line tool installed with the test extras, found beside this Python first."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert found, f"{name} is not installed (it comes with the test extras: make test installs them)"
    return found


def reuse_of_cached_runs(config: pytest.Config) -> Reuse:
    """Confirmed runs on the build's device are read from the cache, but for a sample drawn by the
    session's seed; --fresh-runs or --record-gpu runs them all, and so does a CUDA machine."""
    everything = config.getoption("--fresh-runs") or config.getoption("--record-gpu") or CUDA
    return Reuse(BUILD_DEVICE, seed=session_seed(shared_dir(config)), enabled=not everything)


def shared_runs(config: pytest.Config) -> SharedRuns:
    return SharedRuns(shared_dir(config), reuse_of_cached_runs(config), checked_by_notebook)


@pytest.fixture(scope="session")
def snippet_run(request):
    """`snippet_run(path, device)`: the run of a snippet on a device, made once per test session
    (by whichever pytest-xdist worker asks first), or read from the cache if a fresh run confirmed it."""
    runs = shared_runs(request.config)

    def get(path: str, device: str) -> SnippetRun:
        result = runs.get(path, device)
        if isinstance(result, SnippetFailed):
            printed = f"\nWhat it printed first:\n{result.output[-3000:]}" if result.output.strip() else ""
            pytest.fail(f"{path} failed on {device}:\n{result.traceback_text}{printed}", pytrace=False)
        return result

    return get


@pytest.fixture(scope="session")
def second_run_of(request) -> Callable[[str, str], str]:
    """`second_run_of(path, device)`: how this session checks the cached run of a snippet that the
    pages show: "fresh", "notebook" or "confirmed" (tests/session_store.py, SharedRuns.second_run)."""
    return shared_runs(request.config).second_run


@pytest.fixture(scope="session")
def notebook_kernels(tmp_path_factory):
    """This worker's Jupyter kernels (tests/notebook_runs.py), shut down when the session ends."""
    kernels = Kernels(tmp_path_factory.getbasetemp(), BIN)
    yield kernels
    kernels.shutdown()


@pytest.fixture(scope="session")
def notebook_run(request, site, notebook_kernels) -> Callable[[str, str], NotebookRun]:
    """`notebook_run(page, device)`: the session's run of a chapter's published notebook, made once
    by whichever worker asks first."""
    runs = SharedNotebookRuns(shared_dir(request.config), notebook_kernels)
    return lambda page, device: runs.get(notebook_of(site, page), device)


def notebook_of(site: Path, page: str) -> Path:
    """Where the build writes a chapter's notebook."""
    stem = Path(page).relative_to("docs").with_suffix("")
    return site / "notebooks" / stem / f"{stem.name}.ipynb"


# The order in which the pytest-xdist workers take the files (--dist loadfile, --no-loadscope-reorder):
# first those that need neither the site nor the build's snippet runs, long ones first, while the
# build runs; then those that read the build's runs (they wait for each as the build makes it);
# then those that wait for the whole site, long ones first, so that short ones end the session.
LONG_NEEDING_NO_BUILD = ("test_pipeline_cannot_be_fooled.py", "test_pipeline_tests_report.py", "test_guide_build.py")
READING_THE_BUILDS_RUNS = ("test_witnesses.py", "test_claims.py")
LONG_WITH_THE_SITE = (
    "test_notebooks.py",
    "test_snippets.py",
    "test_browser.py",
    "test_breaking_a_claim.py",
    "test_notebook_pages.py",
    "test_site.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hand the files to the workers in the order above: a worker that took a waiting file early
    would sit idle while the build runs."""
    waits = {item.path for item in items if "site" in getattr(item, "fixturenames", ())}

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        if item.path in waits:
            return (3, LONG_WITH_THE_SITE.index(name)) if name in LONG_WITH_THE_SITE else (4, 0)
        if name in READING_THE_BUILDS_RUNS:
            return (2, READING_THE_BUILDS_RUNS.index(name))
        return (0, LONG_NEEDING_NO_BUILD.index(name)) if name in LONG_NEEDING_NO_BUILD else (1, 0)

    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the strict build of the site now if a selected test needs it: the other tests run
    while it builds."""
    if session.config.option.collectonly:
        return
    if any("site" in getattr(item, "fixturenames", ()) for item in session.items):
        start_site_build(shared_dir(session.config), ROOT)
    runs = list(dict.fromkeys(run for item in session.items for run in runs_read_by(item)))
    session.config.stash[_STOP_RUNS_AHEAD] = make_runs_ahead(shared_runs(session.config), runs)


_STOP_RUNS_AHEAD = pytest.StashKey[Callable[[], None]]()


def runs_read_by(item: pytest.Item) -> list[tuple[str, str]]:
    """The snippet run (path, device) a test reads through `snippet_run`, told by its parameters:
    a snippet's `path`, a `claim` or a `witness` of one, and a `device` (else the build's)."""
    if "snippet_run" not in getattr(item, "fixturenames", ()) or not hasattr(item, "callspec"):
        return []
    params = item.callspec.params
    subject = params.get("path") or params.get("claim") or params.get("witness")
    path = subject if isinstance(subject, str) else getattr(subject, "snippet_path", None)
    return [(path, params.get("device", BUILD_DEVICE))] if path else []


@pytest.fixture(scope="session")
def site(request) -> Path:
    """The site, built once per test run with `mkdocs build --strict`, shared by the workers."""
    return wait_for_site(shared_dir(request.config), ROOT)


def executed_snippets(page: str) -> list[str]:
    """The snippet files a page includes whole (and so runs)."""
    return list(whole_file_includes((ROOT / page).read_text(encoding="utf-8")))


# The pages with a notebook: those of a part of the guide (not the home page) that run snippets.
CHAPTERS = [page for page in PAGES if "/" in page.removeprefix("docs/") and executed_snippets(page)]
# Each snippet that a chapter's notebook runs in a cell of its own, and the first such chapter. A
# distributed example is not among them: its cell launches torchrun, which the notebook test skips.
NOTEBOOK_OF = {
    path: page
    for page in reversed(CHAPTERS)
    for path in executed_snippets(page)
    if (ROOT / path).is_file() and not options_of(ROOT / path).ranks  # a missing file: the build says so
}


# The chapters in the order in which test_snippets.py's second runs first need their notebooks,
# and test_notebooks.py takes them in the opposite order: each notebook runs once per session, by
# the first worker to ask, while a second one waits for it, so two workers asking in the same
# order would often wait for each other.
NOTEBOOKS_AS_SNIPPETS_NEED_THEM = list(dict.fromkeys(NOTEBOOK_OF[path] for path in SNIPPETS if path in NOTEBOOK_OF))
CHAPTERS_FROM_THE_OTHER_END = [
    *reversed(NOTEBOOKS_AS_SNIPPETS_NEED_THEM),
    *(page for page in CHAPTERS if page not in NOTEBOOKS_AS_SNIPPETS_NEED_THEM),
]


# The facts of each snippet that the prose cites as claims: a second run must agree on these.
CITED_FACTS: dict[str, set[str]] = {}
for _claim in (claim for page in PAGES for claim in find_claims((ROOT / page).read_text(encoding="utf-8"), page)):
    CITED_FACTS.setdefault(_claim.snippet_path, set()).add(_claim.name)


def checked_by_notebook(path: str) -> bool:
    return path in NOTEBOOK_OF


def built_file(site: Path, page: str) -> Path:
    """Where the build writes `docs/<page>.md` (directory URLs: <page>/index.html)."""
    relative = Path(page).relative_to("docs").with_suffix("")
    return site / ("index.html" if relative.name == "index" else relative / "index.html")


@functools.cache  # several tests read each page
def built_page(site: Path, page: str) -> lxml.html.HtmlElement:
    """The built page, parsed by lxml (C): the pages' 7 MB took Beautiful Soup's pure-Python
    tree builder 5 CPU-s a run, and lxml a few hundredths of that."""
    return lxml.html.fromstring(built_file(site, page).read_bytes())


def text(element: lxml.html.HtmlElement) -> str:
    """The text a reader sees in the element: without the CSS of its inline figures (which lxml's
    text_content() would include) or any script."""
    return "".join(element.xpath(".//text()[not(ancestor::style or ancestor::script)]"))


def first(element: lxml.html.HtmlElement, selector: str) -> lxml.html.HtmlElement | None:
    """The first element under `element` that the CSS selector matches, or None."""
    found = element.cssselect(selector)
    return found[0] if found else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A failed CUDA test names the snippets it was about, for the GPU record (the report travels
    from a pytest-xdist worker to the controller with its user_properties)."""
    report = yield
    if report.failed:
        paths = [path for path, device in runs_read_by(item) if device == "cuda"]
        if "cuda" in item.keywords and hasattr(item, "callspec") and "page" in item.callspec.params:
            paths += executed_snippets(item.callspec.params["page"])  # a notebook runs its page's snippets
        report.user_properties += [("cuda_snippet", path) for path in paths]
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        for name, path in report.user_properties:
            if name == "cuda_snippet":
                _FAILED_ON_CUDA.setdefault(path, report.nodeid.replace("`", "'")[:200])


_FAILED_ON_CUDA: dict[str, str] = {}  # snippet -> the first failed CUDA test about it (controller)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With --record-gpu, keep each snippet's CUDA output for the site, or the test that failed for
    it, merged into the record of earlier runs on the same GPU and torch. An interrupted run (the
    GPU script's time limit) records nothing: some of its snippets' tests never ran."""
    if _STOP_RUNS_AHEAD in session.config.stash:
        session.config.stash[_STOP_RUNS_AHEAD]()
    if not session.config.getoption("--record-gpu") or exitstatus == pytest.ExitCode.INTERRUPTED:
        return
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the others may still be running; the controller records
    stored = shared_runs(session.config).all()
    cuda_runs = {
        run.path: run for run in (SnippetRun(**e["run"]) for e in stored if "run" in e) if run.device == "cuda"
    }
    failed_runs = {e["failure"][0]: e["failure"][1] for e in stored if "failure" in e and e["failure"][3] == "cuda"}
    failures = {
        path: f"the snippet failed: {text.strip().splitlines()[-1][:200]}" for path, text in failed_runs.items()
    }
    failures |= {path: test for path, test in _FAILED_ON_CUDA.items() if path not in failures}
    passed = {path: run for path, run in sorted(cuda_runs.items()) if path not in failures}
    latest = gpu_record.GpuRun(
        device=torch.cuda.get_device_name(0),
        torch=torch.__version__,
        cuda=str(torch.version.cuda),
        date=datetime.date.today().isoformat(),
        outputs={path: run.output for path, run in passed.items()},
        hashes={path: gpu_record.snippet_hash(path) for path in sorted(set(passed) | set(failures))},
        witnesses={path: run.witnesses_reached for path, run in passed.items()},
        failures=dict(sorted(failures.items())),
    )
    record_path = ROOT / gpu_record.RECORD_PATH
    gpu_record.save(gpu_record.merged(gpu_record.load(record_path), latest), record_path)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """How many snippet runs this session made, and how many it read from confirmed cache entries."""
    if hasattr(config, "workerinput") or not (shared_dir(config) / "snippet-runs").is_dir():
        return
    stored = shared_runs(config).all()
    if not stored:
        return
    fresh = sum(entry.get("fresh", True) for entry in stored)
    built = sum(entry.get("second_run") == "notebook" for entry in stored)
    terminalreporter.write_line(
        f"snippet runs: {fresh} made in this session, {built} read from the build's runs (each checked against "
        f"its chapter notebook's cell), {len(stored) - fresh - built} read from cached runs that an earlier "
        f"second run confirmed (a sample of about one in {SAMPLE_EVERY} runs again; --fresh-runs runs all)"
    )

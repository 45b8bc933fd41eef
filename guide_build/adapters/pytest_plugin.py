"""pytest plugin for the guide (loaded by `-p guide_build.adapters.pytest_plugin` in pyproject.toml).

- `REQUIRE_CUDA=1` makes the run fail at once on a machine without CUDA, so a GPU job can never
  pass by skipping its CUDA tests.
- `--record-gpu` (on a CUDA machine) records the CUDA output of every snippet for the site; see
  guide_build/gpu_record.py.
- pytest-markdown-docs gets a parser that expands `--8<--` includes (guide_build.adapters.markdown_docs), so
  `pytest docs/` tests the code written in each page; included snippet files are run in processes
  of their own by tests/test_snippets.py.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import pytest
import torch

from guide_build.adapters.markdown_docs import IncludeExpandingParser


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-gpu",
        action="store_true",
        help="on a CUDA machine, write each snippet's CUDA output to tests/records/gpu-run.json for the site",
    )
    parser.addoption(
        "--fresh-runs",
        action="store_true",
        help="run every snippet again, reading none of the cached runs that an earlier fresh run confirmed",
    )


def pytest_configure(config: pytest.Config) -> None:
    # pymdownx.snippets resolves include paths against the working directory.
    os.chdir(config.rootpath)
    if config.getoption("--record-gpu") and not torch.cuda.is_available():
        raise pytest.UsageError("--record-gpu needs a CUDA device")
    if os.environ.get("REQUIRE_CUDA") == "1" and not torch.cuda.is_available():
        raise pytest.UsageError(
            "REQUIRE_CUDA=1, but torch.cuda.is_available() is False: refusing to skip the GPU tests"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a CUDA device, the cases marked `cuda` are deselected, not skipped one by one: two
    thousand skips cost the suite seconds. The summary says how many were left out, and why."""
    if torch.cuda.is_available():
        return
    cuda = [item for item in items if item.get_closest_marker("cuda")]
    if cuda:
        config.hook.pytest_deselected(items=cuda)
        items[:] = [item for item in items if not item.get_closest_marker("cuda")]
        config.stash[_CUDA_LEFT_OUT] = len(cuda)
        if hasattr(config, "workeroutput"):  # a pytest-xdist worker tells the controller
            config.workeroutput[_CUDA_LEFT_OUT_NAME] = len(cuda)


_CUDA_LEFT_OUT = pytest.StashKey[int]()
_CUDA_LEFT_OUT_NAME = "cuda_cases_left_out"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist's controller collects nothing itself: it hears the count from a worker (each
    collected the same items)."""
    left_out = getattr(node, "workeroutput", {}).get(_CUDA_LEFT_OUT_NAME)
    if left_out is not None:
        node.config.stash[_CUDA_LEFT_OUT] = left_out


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    left_out = config.stash.get(_CUDA_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"{left_out} CUDA cases deselected: no CUDA device (the GPU job runs them; REQUIRE_CUDA=1 makes this an error)"
        )


def pytest_report_header(config: pytest.Config) -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    return f"torch {torch.__version__}, {device}"


@pytest.hookimpl(tryfirst=True)
def pytest_markdown_docs_markdown_it():
    from markdown_it import MarkdownIt

    # Fences are blocks: without the inline pass (links, emphasis), each worker collects the pages'
    # tests in half the time, and finds the same fences.
    return IncludeExpandingParser(MarkdownIt(config="commonmark").disable("inline"), Path("mkdocs.yml"))


def pytest_markdown_docs_globals():
    # pytest-markdown-docs switches pytest's output capture off while a fence runs; without this
    # every example's output would be printed into the test log. The snippet tests check outputs.
    return {"print": functools.partial(print, file=io.StringIO())}


SESSION_FINISHED = Path(".cache") / "test-session-finished"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave proof that the session ended normally (the Makefile checks it): a process ended from
    inside, by `os._exit(0)` say, exits 0 without a summary, and must not count as a pass."""
    if getattr(session.config, "workerinput", None) is not None:
        return  # a pytest-xdist worker: the controller writes it
    SESSION_FINISHED.parent.mkdir(exist_ok=True)
    SESSION_FINISHED.write_text(f"exit status {int(exitstatus)}\n", encoding="utf-8")

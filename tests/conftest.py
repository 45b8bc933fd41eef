"""Fixtures and lists shared by the tests. The pytest hooks live in guide_build/pytest_plugin.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from guide_build.runner import SnippetFailed, SnippetRun, run_snippet

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "snippets").rglob("*.py"))
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
CUDA = torch.cuda.is_available()
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="no CUDA device (REQUIRE_CUDA=1 makes this an error)")),
]


@pytest.fixture(scope="session")
def snippet_run():
    """`snippet_run(path, device)`: the run of a snippet on a device, computed once per session."""
    runs: dict[tuple[str, str], SnippetRun | SnippetFailed] = {}

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

"""Break the guide in a copy of it and watch both the strict build and the tests fail.

This is the guide's central promise. Change `nn.Linear(8, 3)` to `nn.Linear(8, 4)` in the
parameter-count example, and the build and the tests fail naming the snippet file and the line of
the assertion that no longer holds. Change the "115" in the page's prose instead, and they fail
naming the page, the line and the value the code computed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from site_build import build_site

SNIPPET = "snippets/worked_examples/01_parameter_count.py"
PAGE = "docs/worked-examples/parameter-count.md"
TOTAL_CLAIM = '**115**{ data-claim="worked_examples/01_parameter_count.py:total" }'
# Share the caches: untouched snippets and notebooks are reused, edited ones get new keys.
SHARED_CACHES = {
    "GUIDE_CACHE_DIR": str(ROOT / ".cache" / "snippet-runs"),
    "GUIDE_NOTEBOOK_CACHE_DIR": str(ROOT / ".cache" / "mkdocs-jupyter"),
}


def copy_of_the_guide(folder: Path, file: str, old: str, new: str) -> Path:
    for name in ("docs", "snippets", "guide_build", "tests"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    text = (folder / file).read_text(encoding="utf-8")
    assert text.count(old) == 1
    (folder / file).write_text(text.replace(old, new), encoding="utf-8")
    return folder


def run_tests(copy: Path) -> subprocess.CompletedProcess:
    selection = ["tests/test_snippets.py", "tests/test_claims.py", "-k", "01_parameter_count or parameter-count"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection]
    environment = {**os.environ, "REQUIRE_CUDA": ""}
    return subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=600, env=environment)


@pytest.fixture(scope="module")
def broken_snippet(tmp_path_factory):
    copy = copy_of_the_guide(tmp_path_factory.mktemp("snippet"), SNIPPET, "nn.Linear(8, 3)", "nn.Linear(8, 4)")
    source = (ROOT / SNIPPET).read_text(encoding="utf-8").splitlines()
    first_assert = next(number for number, line in enumerate(source, 1) if line.startswith("assert"))
    return copy, f'File "{SNIPPET}", line {first_assert}'


@pytest.fixture(scope="module")
def broken_prose(tmp_path_factory):
    copy = copy_of_the_guide(tmp_path_factory.mktemp("prose"), PAGE, TOTAL_CLAIM, TOTAL_CLAIM.replace("115", "116"))
    line = next(n for n, text in enumerate((ROOT / PAGE).read_text().splitlines(), 1) if TOTAL_CLAIM in text)
    return copy, f"{PAGE}:{line}: the page says '116' for {SNIPPET}:total, but the snippet computed 115"


def test_build_fails_naming_the_snippet_and_line(broken_snippet, tmp_path):
    copy, location = broken_snippet
    result = build_site(copy, tmp_path / "site", env=SHARED_CACHES)
    assert result.returncode != 0
    assert location in result.stderr
    assert "Aborted with" in result.stdout + result.stderr


def test_tests_fail_naming_the_snippet_and_line(broken_snippet):
    copy, location = broken_snippet
    result = run_tests(copy)
    assert result.returncode == 1, result.stdout[-3000:]
    assert location in result.stdout


def test_build_fails_naming_the_page_line_and_computed_value(broken_prose, tmp_path):
    copy, message = broken_prose
    result = build_site(copy, tmp_path / "site", env=SHARED_CACHES)
    assert result.returncode != 0
    assert message in result.stderr


def test_tests_fail_naming_the_page_line_and_computed_value(broken_prose):
    copy, message = broken_prose
    result = run_tests(copy)
    assert result.returncode == 1, result.stdout[-3000:]
    assert message in result.stdout

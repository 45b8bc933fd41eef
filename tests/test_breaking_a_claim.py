"""Break a claim in a copy of the guide and watch both the strict build and the tests fail.

This is the guide's central promise: change `nn.Linear(8, 3)` to `nn.Linear(8, 4)` in the
parameter-count example and every check that depends on it fails, naming the snippet file and
the line of the assertion that no longer holds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT
from site_build import build_site

from guide_build.cache import cache_dir

SNIPPET = "snippets/worked_examples/01_parameter_count.py"


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("broken-guide")
    for name in ("docs", "snippets", "guide_build", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    source = (copy / SNIPPET).read_text(encoding="utf-8")
    assert "nn.Linear(8, 3)" in source
    (copy / SNIPPET).write_text(source.replace("nn.Linear(8, 3)", "nn.Linear(8, 4)"), encoding="utf-8")
    first_assert = next(n for n, line in enumerate(source.splitlines(), 1) if line.startswith("assert"))
    return copy, f'File "{SNIPPET}", line {first_assert}'


def test_strict_build_fails_naming_the_snippet_and_line(broken_copy, tmp_path):
    copy, location = broken_copy
    # Share the cache: untouched snippets are reused, the edited one has a new key and runs again.
    result = build_site(copy, tmp_path / "site", env={"GUIDE_CACHE_DIR": str(ROOT / cache_dir())})
    assert result.returncode != 0
    assert location in result.stderr
    assert "Aborted with" in result.stderr


def test_tests_fail_naming_the_snippet_and_line(broken_copy):
    copy, location = broken_copy
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_snippets.py",
        "tests/test_claims.py",
        "-k",
        "01_parameter_count or parameter-count",
    ]
    result = subprocess.run(
        command, cwd=copy, capture_output=True, text=True, timeout=600, env={**os.environ, "REQUIRE_CUDA": ""}
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert location in result.stdout
    assert "the page says '115'" in result.stdout and "computed 124" in result.stdout

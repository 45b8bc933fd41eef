"""CI can split the suite across runners (`CI_SHARD=i/n bash .ci/run`): the parts must cover
every test exactly once, or a split CI would pass having skipped some."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

FILES = ["tests/test_snippets.py", "tests/test_claims.py"]
PART_MARK = "=== part"
# Both parts collected by one process (torch is imported once): `--splits 2 --group <i>`, as .ci/run passes them.
COLLECT_BOTH = f"""
import pytest
for group in ("1", "2"):
    print("{PART_MARK}", group, flush=True)
    options = ["--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0", "--splits", "2", "--group", group]
    assert pytest.main([*{FILES!r}, *options]) == 0
"""


def parts() -> tuple[list[list[str]], int]:
    """The tests of each of the two parts, and how many the whole selection runs on this machine."""
    command = [sys.executable, "-c", COLLECT_BOTH]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    outputs = result.stdout.split(PART_MARK)[1:]
    total = int(re.search(r"\d+/(\d+) tests collected", outputs[0])[1])
    without_a_gpu = re.search(r"(\d+) CUDA cases deselected", outputs[0])  # in neither part
    total -= int(without_a_gpu[1]) if without_a_gpu else 0
    return [[line for line in output.splitlines() if "::" in line] for output in outputs], total


def test_two_parts_cover_the_suite_once_each():
    (first, second), total = parts()
    assert first and second and not set(first) & set(second)
    assert len(first) + len(second) == total

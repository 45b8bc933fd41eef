"""CI can split the suite across runners (`CI_SHARD=i/n bash .ci/run`): the parts must cover
every test exactly once, or a split CI would pass having skipped some."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

FILES = ["tests/test_snippets.py", "tests/test_claims.py"]


def part(group: int) -> tuple[list[str], int]:
    """The tests of one of two parts, and how many the whole selection runs on this machine."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0"]
    command += [*FILES, "--splits", "2", "--group", str(group)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    total = int(re.search(r"\d+/(\d+) tests collected", result.stdout)[1])
    without_a_gpu = re.search(r"(\d+) CUDA cases deselected", result.stdout)  # in neither part
    total -= int(without_a_gpu[1]) if without_a_gpu else 0
    return [line for line in result.stdout.splitlines() if "::" in line], total


def test_two_parts_cover_the_suite_once_each():
    (first, total), (second, _) = part(1), part(2)
    assert first and second and not set(first) & set(second)
    assert len(first) + len(second) == total

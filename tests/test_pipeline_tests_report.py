"""The adversarial contributor against the tests rather than the build (see
test_pipeline_cannot_be_fooled.py, whose tiny guide with planted problems these tests reuse): each
failing snippet is reported by pytest with its cause, and a snippet whose output changes from run
to run is caught. A file of its own, so that pytest-xdist can run it beside the build's cases.
"""

from __future__ import annotations

import pytest
from test_guide_build import is_running
from test_pipeline_cannot_be_fooled import EXPECTED, broken_guide
from tiny_guide import TinyGuide


@pytest.fixture
def broken(tmp_path):
    return broken_guide(tmp_path / "broken-guide")


def test_the_tests_report_each_failing_snippet_with_its_cause(broken, tmp_path):
    rank_pids = tmp_path / "rank.pids"
    result = broken.pytest(
        "tests/test_snippets.py", "-k", "test_snippet_runs and cpu", env={"GUIDE_TEST_RANK_PIDS": str(rank_pids)}
    )
    assert result.returncode == 1, result.stdout[-3000:]
    for message in EXPECTED[1:10] + EXPECTED[-11:-1]:
        if message.startswith("docs/"):
            continue
        assert message in result.stdout, message
    assert "10 failed" in result.stdout
    assert [pid for pid in map(int, rank_pids.read_text().split()) if is_running(pid)] == []


def test_an_unseeded_snippet_is_caught_by_the_tests(tmp_path):
    guide = TinyGuide(tmp_path / "guide")
    guide.write("snippets/part/02_second.py", SECOND_UNSEEDED)
    result = guide.pytest("tests/test_snippets.py", "-k", "fresh_run")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "snippets/part/02_second.py printed something else in a second run" in result.stdout


SECOND_UNSEEDED = """import random

total = 15
print(random.random())  # seeded from the operating system in every fresh process
assert total == 15
"""

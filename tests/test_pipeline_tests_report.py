"""The adversarial contributor against the tests rather than the build (see
test_pipeline_cannot_be_fooled.py, whose tiny guide with planted problems these tests reuse): each
failing snippet is reported by pytest with its cause, and a snippet whose output changes from run
to run is caught. A file of its own, so that pytest-xdist can run it beside the build's cases.
"""

from __future__ import annotations

import re

import pytest
from session_store import SAMPLE_EVERY, Reuse, SharedRuns
from site_build import problems_last, stop
from test_guide_build import is_running, write
from test_pipeline_cannot_be_fooled import EXPECTED, broken_guide
from tiny_guide import TinyGuide

from guide_build.core import cache
from guide_build.core.runner import SnippetFailed, run_snippet


@pytest.fixture(scope="module")
def started(request, tmp_path_factory):
    """Both guides' tests, started side by side (those of the selected tests): the planted problems
    include hangs that keep one run waiting for seconds. Yields the processes and the file where
    the ranks write their process ids."""
    folder = tmp_path_factory.mktemp("tests-report")
    selected = {item.name for item in request.session.items}
    rank_pids = folder / "rank.pids"
    processes = {}
    if test_the_tests_report_each_failing_snippet_with_its_cause.__name__ in selected:
        processes["broken"] = broken_guide(folder / "broken-guide").start_pytest(
            "tests/test_snippets.py", "-k", "test_snippet_runs and cpu", env={"GUIDE_TEST_RANK_PIDS": str(rank_pids)}
        )
    if test_an_unseeded_snippet_is_caught_by_the_tests.__name__ in selected:
        unseeded = TinyGuide(folder / "guide")
        unseeded.write("snippets/part/02_second.py", SECOND_UNSEEDED)
        processes["unseeded"] = unseeded.start_pytest("tests/test_snippets.py", "-k", "fresh_run")
    yield processes, rank_pids
    stop(processes.values())


def test_the_tests_report_each_failing_snippet_with_its_cause(started):
    processes, rank_pids = started
    stdout, _ = processes["broken"].communicate(timeout=600)
    assert processes["broken"].returncode == 1, stdout[-3000:]
    for message in EXPECTED[1:10] + EXPECTED[-11:-1]:
        if message.startswith("docs/"):
            continue
        assert message in stdout, f"{message}\nnot in the report:\n{_report_of(message, stdout)}"
    assert "10 failed" in stdout
    assert [pid for pid in map(int, rank_pids.read_text().split()) if is_running(pid)] == []


def _report_of(message: str, stdout: str) -> str:
    """pytest's section on the snippet that `message` names (the whole output if none is found)."""
    snippet = re.search(r"snippets/part/\w+\.py", message)
    start = stdout.find(f"[{snippet.group()}-cpu] _") if snippet else -1
    if start < 0:
        return stdout[-5000:]
    end = stdout.find("\n___", start)
    return stdout[start : end if end > 0 else None]


def test_an_unseeded_snippet_is_caught_by_the_tests(started):
    processes, _ = started
    stdout, _ = processes["unseeded"].communicate(timeout=600)
    assert processes["unseeded"].returncode == 1, stdout[-3000:]
    assert "snippets/part/02_second.py printed something else in a second run" in stdout
    # Caught although the session ran no snippet itself: its second runs were the notebooks' cells
    # (the disagreeing one then ran on its own, and disagreed again).
    assert "snippet runs: 0 made in this session, 2 read from the build's runs" in stdout


def test_a_session_reads_confirmed_runs_but_runs_a_new_sample_of_them_again():
    paths = [f"snippets/part/{number:04}_topic.py" for number in range(2000)]
    reuse = Reuse("cpu", seed="pytest-7")
    sampled = {path for path in paths if reuse.sampled(path)}
    assert 0.7 < len(sampled) * SAMPLE_EVERY / len(paths) < 1.3
    assert sampled != {path for path in paths if Reuse("cpu", seed="pytest-8").sampled(path)}
    kept = next(path for path in paths if path not in sampled)
    assert reuse.allows(kept, "cpu") and not reuse.allows(next(iter(sampled)), "cpu")
    assert not reuse.allows(kept, "cuda")  # only runs on the build's device stand in
    assert not Reuse("cpu", seed="pytest-7", enabled=False).allows(kept, "cpu")  # --fresh-runs
    notebooks = paths[:25]  # one of them a session: over sessions, each one's turn comes
    assert {Reuse("cpu", seed=f"pytest-{number}").first_drawn(notebooks) for number in range(400)} == set(notebooks)


def test_a_session_reads_confirmed_runs_runs_its_sample_again_and_forgets_one_that_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    flag = tmp_path / "flag"  # outside the cache key: the second snippet fails once it exists
    steady = str(write(tmp_path / "steady.py", "print(1)\n"))
    fickle = str(write(tmp_path / "fickle.py", f"import os\nassert not os.path.exists({str(flag)!r})\nprint(2)\n"))
    for snippet in (steady, fickle):
        cache.cached_run(snippet)  # as the build runs it
        assert cache.confirm(snippet, run_snippet(snippet, device="cpu"))  # as the comparison test does
    seeds = (str(number) for number in range(10_000))
    seed = next(seed for seed in seeds if Reuse("cpu", seed).sampled(fickle) and not Reuse("cpu", seed).sampled(steady))
    (tmp_path / "session").mkdir()
    store = SharedRuns(tmp_path / "session", Reuse("cpu", seed))
    flag.touch()
    assert store.get(steady, "cpu").output == "1\n" and not store.was_fresh(steady, "cpu")  # read
    assert isinstance(store.get(fickle, "cpu"), SnippetFailed)  # drawn: run again, and it fails
    assert cache.confirmed_run(fickle, "cpu") is None  # so it stands in for no run any more


SECOND_UNSEEDED = """import random

total = 15
print(random.random())  # seeded from the operating system in every fresh process
assert total == 15
"""


def test_a_failed_build_ends_its_report_with_every_warning():
    """A CI page shows only the end of a failed run: the build's warnings come last, each with the
    traceback under it, after the log's own last lines (here, notebook copies)."""
    warning = [
        "WARNING -  docs/part/page.md:7: the example snippets/part/01_first.py failed:",
        "Traceback (most recent call last):",
        '  File "snippets/part/01_first.py", line 3, in <module>',
        "AssertionError",
    ]
    copies = [f"INFO    -  Copied jupyter file: notebook{n}.ipynb" for n in range(500)]
    log = "\n".join(
        ["INFO    -  Cleaning site directory", *warning, *copies, "", "Aborted with 1 warnings in strict mode!"]
    )
    report = problems_last(log)
    assert report.endswith("\n".join(warning))
    assert "notebook499.ipynb" in report and "Cleaning site directory" not in report
    assert problems_last("INFO    -  Documentation built") == "INFO    -  Documentation built"
    many = "\n".join(f"WARNING -  docs/p{n}.md:1: broken\n" + "  a traceback line\n" * 40 for n in range(30))
    report = problems_last(many)
    assert "docs/p0.md:1: broken" in report.split("The build's warnings and errors (30):")[1]
    assert report.rstrip().endswith("more left out: see the build's whole log)")

"""Every snippet file runs to its end, and so checks its own assertions, on CPU and on CUDA; and
it prints the same in a fresh process as it did in the build, so the pages show a stable result.
(On the CPU, a run a fresh one has confirmed is read from the cache, but for a sample run again
each session: tests/session_store.py.)"""

import re
from pathlib import Path

import pytest
from conftest import BUILD_DEVICE, DEVICES, SNIPPETS

from guide_build.core import cache
from guide_build.core.inventory import assertions_in
from guide_build.core.snippet_options import options_of


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", SNIPPETS)
def test_snippet_runs(path, device, snippet_run):
    run = snippet_run(path, device)
    assert run.output.strip(), f"{path} printed nothing: a snippet shows its results"


def test_every_snippet_asserts_what_it_demonstrates():
    unchecked = [path for path in SNIPPETS if assertions_in(Path(path)) == 0]
    assert unchecked == [], "end each of these by asserting what it shows"


@pytest.mark.parametrize("path", SNIPPETS)
def test_a_fresh_run_prints_what_the_build_showed(path, snippet_run, run_was_fresh, site):
    """The cached run is the one the build showed, made by another process; the session's run on
    this machine's device is not cached. The two must agree, so that an unseeded random number, a
    time or a set's order on a page is caught. A snippet whose output legitimately varies says
    `# guide: output varies`; then only its words are compared, not its numbers.

    A run that agrees in everything it computed confirms the cached one: later sessions read it
    instead of running the snippet, but for a sample they run again (tests/session_store.py)."""
    shown = cache.lookup(path)
    assert shown is not None, f"the build did not run {path}: every snippet must be shown on a page"
    if not run_was_fresh(path, BUILD_DEVICE):
        pytest.skip("confirmed by an earlier session's fresh run, and not in this session's sample")
    cache.confirm(path, snippet_run(path, BUILD_DEVICE))
    fresh = snippet_run(path, BUILD_DEVICE).output
    if options_of(path).output_varies:
        shown_words, fresh_words = (re.sub(r"\d+(\.\d+)?", "#", text) for text in (shown.output, fresh))
        assert fresh_words == shown_words, f"{path}: its output changed beyond its numbers"
    else:
        assert fresh == shown.output, f"{path} printed something else in a second run: seed it, or mark it varying"
    drawn = snippet_run(path, BUILD_DEVICE).figures
    assert drawn == shown.figures, f"{path} drew a different figure in a second run (svg.hashsalt, metadata Date)"

"""Every snippet file runs to its end, and so checks its own assertions, on CPU and on CUDA; and
it prints the same in a second run as it did in the build, so the pages show a stable result.
(On the CPU, a cached run that a second run has confirmed is read from the cache, but for a sample
run again each session; on a clean clone, a snippet's cell in its chapter's notebook is its second
run: tests/session_store.py.)"""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import BUILD_DEVICE, CITED_FACTS, DEVICES, NOTEBOOK_OF, SNIPPETS

from guide_build.core import cache
from guide_build.core.inventory import assertions_in
from guide_build.core.runner import SnippetFailed, SnippetRun, run_snippet
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
def test_a_fresh_run_prints_what_the_build_showed(path, snippet_run, second_run_of, notebook_run, site):
    """The cached run is the one the build showed, made by another process; a second run must
    agree with it, so that an unseeded random number, a time or a set's order on a page is caught.
    The second run is the session's own run of the snippet, or, for a snippet whose chapter's
    notebook runs it, its cell in the notebook's run (tests/notebook_runs.py); if that cell
    disagrees (a kernel that the chapter's cells share may differ), a run of its own decides. A
    snippet whose output legitimately varies says `# guide: output varies`; then only its words
    are compared, not its numbers.

    A second run that agrees in all that the site shows (the output, the figures, the values the
    prose cites, and for a run of its own which assertions ran) confirms the cached one: later
    sessions read it instead of running the snippet, but for a sample they run again
    (tests/session_store.py)."""
    shown = cache.lookup(path)
    assert shown is not None, f"the build did not run {path}: every snippet must be shown on a page"
    how = second_run_of(path, BUILD_DEVICE)
    if how == "confirmed":
        pytest.skip("confirmed by an earlier session's second run, and not in this session's sample")
    cited = CITED_FACTS.get(path, ())
    if how == "notebook":
        second = in_its_notebook(path, shown, notebook_run)
        if not cache.confirm(path, second, cited):  # the cell disagrees: a run of the snippet alone decides
            try:
                second = run_snippet(path, device=BUILD_DEVICE)
            except SnippetFailed as failure:
                pytest.fail(f"{path} failed in a run of its own:\n{failure.traceback_text}", pytrace=False)
            cache.confirm(path, second, cited)
    else:
        second = snippet_run(path, BUILD_DEVICE)
        cache.confirm(path, second, cited)
    if options_of(path).output_varies:
        shown_words, second_words = (re.sub(r"\d+(\.\d+)?", "#", text) for text in (shown.output, second.output))
        assert second_words == shown_words, f"{path}: its output changed beyond its numbers"
    else:
        assert second.output == shown.output, (
            f"{path} printed something else in a second run: seed it, or mark it varying"
        )
    assert second.figures == shown.figures, (
        f"{path} drew a different figure in a second run (svg.hashsalt, metadata Date)"
    )


def in_its_notebook(path: str, shown: SnippetRun, notebook_run) -> SnippetRun:
    """The snippet's run as its cell in its chapter's notebook made it: what the cell printed, and
    the facts and figures the kernel held after it (which assertions ran, it cannot tell: those of
    the build's run are kept)."""
    cell = notebook_run(NOTEBOOK_OF[path], BUILD_DEVICE).of_snippet(path)
    if cell is None or cell.error is not None or cell.facts is None:
        return replace(shown, output=f"(its cell in the notebook did not run to its end: {cell and cell.error})")
    facts = {name: cell.facts.get(name, "(not defined in the notebook)") for name in shown.facts}
    return replace(shown, device=BUILD_DEVICE, output=cell.printed, facts=facts, figures=cell.figures)

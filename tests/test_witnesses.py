"""Every witnessed statement in the prose names a labelled assertion of a snippet its page runs.

The snippet tests run each snippet to its end, so every assertion in it held: a statement whose
assertion is there, ran (not skipped in a branch for another device) and whose snippet runs on
the page, is witnessed. Renaming or deleting the assertion fails here, naming the page and line
(and the strict build fails the same way).
"""

from pathlib import Path

import pytest
from conftest import DEVICES, PAGES, executed_snippets

from guide_build.core import releases
from guide_build.core.runner import SnippetRun
from guide_build.core.witnesses import find_witnesses, unreached_error, unread_markup, witness_error

WITNESSES = [w for page in PAGES for w in find_witnesses(Path(page).read_text(encoding="utf-8"), page)]


# One test per statement and device (not one for the label and one for the run): the suite has
# about two thousand witnessed statements, and each test costs pytest a few milliseconds.
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("witness", WITNESSES, ids=lambda w: f"{w.where}={w.snippet}:{w.label}")
def test_witnessed_statement_names_an_assertion_its_page_runs_and_it_ran(witness, device, snippet_run):
    error = witness_error(witness)
    assert error is None, error
    assert witness.snippet_path in executed_snippets(witness.page), (
        f"{witness.where}: the statement {witness.text!r} cites {witness.snippet_path}, which this page does not run"
    )
    error = unreached_error(witness, snippet_run(witness.snippet_path, device))
    assert error is None, error


def test_the_guide_witnesses_its_explanations():
    assert len(WITNESSES) >= 50


def test_each_kind_of_witness_is_expected_to_run_where_it_says(tmp_path, monkeypatch):
    """A plain witness must run everywhere; a GPU witness only on CUDA; a CPU witness only off it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "ch").mkdir(parents=True)
    (tmp_path / "snippets" / "ch" / "01_x.py").write_text("assert True  # witness: held-here\n")
    snippet = "ch/01_x.py"
    page = f'*a*{{ data-witness="{snippet}:held-here" }} *b*{{ data-gpu-witness="{snippet}:held-here" }} '
    page += f'*c*{{ data-cpu-witness="{snippet}:held-here" }}'
    plain, on_gpu, on_cpu = find_witnesses(page, "docs/x.md")
    assert (plain.on_gpu, plain.on_cpu, on_gpu.on_gpu, on_cpu.on_cpu) == (False, False, True, True)
    for device in ("cpu", "cuda"):
        reached = SnippetRun(str(snippet), device, "", witnesses_reached=["held-here"])
        assert all(unreached_error(w, reached) is None for w in (plain, on_gpu, on_cpu))
    skipped_on = {device: SnippetRun(str(snippet), device, "") for device in ("cpu", "cuda")}
    expected_on = {"plain": {"cpu", "cuda"}, "gpu": {"cuda"}, "cpu": {"cpu"}}
    for name, witness in (("plain", plain), ("gpu", on_gpu), ("cpu", on_cpu)):
        failing = {device for device, run in skipped_on.items() if unreached_error(witness, run) is not None}
        assert failing == expected_on[name], name


def test_a_statement_true_from_a_release_on_is_expected_from_that_release_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "ch").mkdir(parents=True)
    (tmp_path / "snippets" / "ch" / "01_x.py").write_text("assert True  # witness: new-behaviour\n")
    (since,) = find_witnesses('*a*{ data-witness="ch/01_x.py:new-behaviour@2.13+" }', "docs/x.md")
    assert (since.label, since.since) == ("new-behaviour", "2.13")
    skipped = SnippetRun("snippets/ch/01_x.py", "cpu", "")  # the release guard skipped the assertion
    monkeypatch.setattr(releases, "pinned_release", lambda: (2, 13))
    for running, expected in (((2, 11), False), ((2, 13), True), ((2, 14), True)):
        monkeypatch.setattr(releases, "running_release", lambda running=running: running)
        assert (unreached_error(since, skipped) is not None) == expected, running
    assert witness_error(since) is None
    monkeypatch.setattr(releases, "pinned_release", lambda: (2, 12))  # no build would check it
    assert "no build would check it" in witness_error(since)
    monkeypatch.undo()  # the real releases again, in a folder with no constraints.txt
    monkeypatch.chdir(tmp_path)
    releases.pinned_release.cache_clear()  # read in this folder, not remembered from the repository's
    try:
        assert "needs the torch release that constraints.txt pins" in witness_error(since)  # not a crash
    finally:
        releases.pinned_release.cache_clear()
    (unread,) = unread_markup('*a*{ data-witness="ch/01_x.py:new-behaviour@2.13" }', "docs/x.md")
    assert "not read" in unread  # a release without its `+` is not a mark the pattern reads


def test_a_statement_about_some_machines_is_expected_where_the_snippet_s_condition_is_true(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "ch").mkdir(parents=True)
    (tmp_path / "snippets" / "ch" / "01_x.py").write_text("if has_avx2:\n    assert True  # witness: fused\n")
    page = '*a*{ data-witness="ch/01_x.py:fused@if:has_avx2" } *b*{ data-witness="ch/01_x.py:fused@2.11+@if:x86" }'
    conditional, both = find_witnesses(page, "docs/x.md")
    assert (conditional.label, conditional.condition) == ("fused", "has_avx2")
    assert (both.since, both.condition) == ("2.11", "x86")  # a condition comes after a release
    assert witness_error(conditional) is None and unread_markup(page, "docs/x.md") == []

    def run(reached: bool, **facts) -> SnippetRun:
        return SnippetRun("snippets/ch/01_x.py", "cpu", "", facts, witnesses_reached=["fused"] * reached)

    assert unreached_error(conditional, run(False, has_avx2=False)) is None  # skipped where it is False
    assert unreached_error(conditional, run(True, has_avx2=True)) is None
    assert "which did not run" in unreached_error(conditional, run(False, has_avx2=True))
    assert "sets no top-level has_avx2" in unreached_error(conditional, run(True, avx2=True))
    assert "sets it to 1" in unreached_error(conditional, run(True, has_avx2=1))  # True or False only
    (on_gpu,) = find_witnesses('*a*{ data-gpu-witness="ch/01_x.py:fused@if:has_avx2" }', "docs/x.md")
    assert "cannot carry a condition" in witness_error(on_gpu)
    (unread,) = unread_markup('*a*{ data-witness="ch/01_x.py:fused@if:2cores" }', "docs/x.md")
    assert "label@if:has_avx2" in unread  # a condition names a Python name


def test_a_witness_whose_assertion_a_condition_can_skip_is_refused(tmp_path, monkeypatch):
    """`assert x or not has_avx2` holds on a machine without AVX2 having checked nothing, under a
    plain check mark: the statement is marked label@if:has_avx2 and asserted behind `if has_avx2:`.
    witness_error, which the build and the test of every statement call, refuses the old form."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "ch").mkdir(parents=True)
    (tmp_path / "snippets" / "ch" / "01_x.py").write_text(
        "x, has_avx2 = True, False\n"
        "assert x or not has_avx2  # witness: hatch\n"
        "assert (x\n        or __import__('sys').platform != 'linux')  # witness: platform-hatch\n"
        "if has_avx2:\n    assert x  # witness: behind-if\n"
    )
    page = "".join(f'*s*{{ data-witness="ch/01_x.py:{label}" }} ' for label in ("hatch", "platform-hatch", "behind-if"))
    hatch, platform_hatch, behind_if = find_witnesses(page, "docs/x.md")
    assert "01_x.py:2 holds when not has_avx2" in witness_error(hatch)
    assert "holds when __import__('sys').platform != 'linux'" in witness_error(platform_hatch)
    assert witness_error(behind_if) is None

"""Every witnessed statement in the prose names a labelled assertion of a snippet its page runs.

The snippet tests run each snippet to its end, so every assertion in it held: a statement whose
assertion is there, ran (not skipped in a branch for another device) and whose snippet runs on
the page, is witnessed. Renaming or deleting the assertion fails here, naming the page and line
(and the strict build fails the same way).
"""

from pathlib import Path

import pytest
from conftest import DEVICES, PAGES, executed_snippets

from guide_build.core.witnesses import find_witnesses, unreached_error, witness_error

WITNESSES = [w for page in PAGES for w in find_witnesses(Path(page).read_text(encoding="utf-8"), page)]


@pytest.mark.parametrize("witness", WITNESSES, ids=lambda w: f"{w.where}={w.snippet}:{w.label}")
def test_witnessed_statement_names_an_assertion_its_page_runs(witness):
    error = witness_error(witness)
    assert error is None, error
    assert witness.snippet_path in executed_snippets(witness.page), (
        f"{witness.where}: the statement {witness.text!r} cites {witness.snippet_path}, which this page does not run"
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("witness", WITNESSES, ids=lambda w: f"{w.where}={w.snippet}:{w.label}")
def test_witnessed_assertion_ran(witness, device, snippet_run):
    error = unreached_error(witness, snippet_run(witness.snippet_path, device))
    assert error is None, error


def test_the_guide_witnesses_its_explanations():
    assert len(WITNESSES) >= 50

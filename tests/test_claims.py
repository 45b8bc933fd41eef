"""Every number or phrase the prose marks as a claim agrees with what its snippet computes."""

from pathlib import Path

import pytest
from conftest import DEVICES, PAGES

from guide_build.claims import claim_error, find_claims

CLAIMS = [claim for page in PAGES for claim in find_claims(Path(page).read_text(encoding="utf-8"), page)]


def test_the_guide_makes_checked_claims():
    assert len(CLAIMS) >= 20


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: f"{claim.where}={claim.text}")
def test_claim_holds(claim, device, snippet_run):
    assert Path(claim.snippet_path).is_file(), f"{claim.where}: no snippet {claim.snippet_path}"
    error = claim_error(claim, snippet_run(claim.snippet_path, device).facts)
    assert error is None, error

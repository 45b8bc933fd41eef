"""Every number or phrase the prose marks as a claim agrees with what its snippet computes."""

import tomllib
from pathlib import Path

import pytest
import torch
from conftest import DEVICES, PAGES, ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from guide_build.core import releases
from guide_build.core.claims import claim_error, find_claims, not_checked_here

CLAIMS = [claim for page in PAGES for claim in find_claims(Path(page).read_text(encoding="utf-8"), page)]


def test_the_guide_makes_checked_claims():
    assert len(CLAIMS) >= 20


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: f"{claim.where}={claim.text}")
def test_claim_holds(claim, device, snippet_run):
    assert Path(claim.snippet_path).is_file(), f"{claim.where}: no snippet {claim.snippet_path}"
    error = claim_error(claim, snippet_run(claim.snippet_path, device).facts)
    assert error is None, error
    if reason := not_checked_here(claim):
        pytest.skip(reason)


def test_a_release_value_is_compared_on_that_release_only_and_must_be_the_pinned_one(monkeypatch):
    page = '**878**{ data-claim="ch/01_x.py:count@2.13" } and **2**{ data-claim="ch/01_x.py:count@rank1" }'
    of_release, of_rank = find_claims(page, "docs/x.md")
    assert (of_release.name, of_release.release, of_rank.name, of_rank.release) == (
        "count",
        "2.13",
        "count@rank1",
        None,
    )
    monkeypatch.setattr(releases, "pinned_release", lambda: (2, 13))
    for running, compared in (((2, 13), True), ((2, 11), False)):
        monkeypatch.setattr(releases, "running_release", lambda running=running: running)
        assert (claim_error(of_release, {"count": 928}) is not None) == compared
        assert (not_checked_here(of_release) is None) == compared
    monkeypatch.setattr(releases, "pinned_release", lambda: (2, 14))  # the pin moved on: update the page
    assert "the site is built with torch 2.14" in claim_error(of_release, {"count": 878})


def test_the_installed_torch_is_not_newer_than_the_pin(monkeypatch):
    """A newer torch would leave every value marked with the pinned release unchecked."""
    assert releases.newer_than_pinned() is None
    monkeypatch.setattr(releases, "running_release", lambda: (2, 99))
    assert "go unchecked" in releases.newer_than_pinned()


def stated_range(torch_range: SpecifierSet) -> str:
    """How the home page words a range written >=X.Y, or >=X.Y,<X.Z with Z the next minor release
    after the last one tried (<2.15: up to 2.14); any other form is refused."""
    operators = sorted(spec.operator for spec in torch_range)
    assert operators in ([">="], ["<", ">="]), f"write the range as >=X.Y or >=X.Y,<X.Z, not {torch_range}"
    (lowest,) = [spec.version for spec in torch_range if spec.operator == ">="]
    bounds = [Version(spec.version) for spec in torch_range if spec.operator == "<"]
    if not bounds:
        return f"PyTorch {lowest} or newer"
    (bound,) = bounds
    major, minor = (*bound.release, 0)[:2]
    assert minor > 0 and bound == Version(f"{major}.{minor}"), f"write the bound as <X.Z, not {torch_range}"
    return f"PyTorch {lowest} to {major}.{minor - 1}"


@pytest.mark.parametrize(
    ("written", "stated"),
    [
        (">=2.11,<2.15", "PyTorch 2.11 to 2.14"),
        (">=2.11", "PyTorch 2.11 or newer"),
        (">=2.11,<2.15.1", None),  # admits 2.15.0
        (">=2.11,<2.15.post1", None),  # admits 2.15.0 too
        (">=2.11,<3", None),  # 3.0 has no minor release before it to name
        (">=2.11,!=2.12.*", None),
        (">=2.11,<=2.14", None),
    ],
)
def test_the_torch_range_is_worded_only_when_its_form_is_clear(written, stated):
    if stated is None:
        with pytest.raises(AssertionError):
            stated_range(SpecifierSet(written))
    else:
        assert stated_range(SpecifierSet(written)) == stated


def test_home_page_states_the_torch_range_the_package_declares():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    torch_range = next(Requirement(d).specifier for d in dependencies if Requirement(d).name == "torch")
    assert stated_range(torch_range) in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    installed = Version(torch.__version__).base_version  # 2.13.0+cpu is 2.13.0
    assert torch_range.contains(installed), f"the installed torch {torch.__version__} is outside {torch_range}"

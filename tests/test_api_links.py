"""Pages link the PyTorch APIs their prose names to the reference, and those links name real APIs."""

import pkgutil
import re

import pytest
import torch
from conftest import PAGES, ROOT

from guide_build.core.claims import CLAIM_RE

FENCE = re.compile(r"^\s*```.*?^\s*```", re.MULTILINE | re.DOTALL)
NAMED_API = re.compile(r"`((?:torch|nn|F)\.[A-Za-z_][\w.]*)")
LINK = re.compile(r"\[(`[^`]+`|[^\]]+)\]\((https://docs\.pytorch\.org/[^)\s]+)\)")
REFERENCE_TARGET = re.compile(
    r"https://docs\.pytorch\.org/docs/stable/(?:generated/([\w.]+)\.html|[\w./-]+\.html#(torch[\w.]*))"
)
ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional"}
WITHOUT_A_PAGE = {"torch.relu"}  # documented only as torch.nn.functional.relu


def prose(page: str) -> str:
    return prose_of((ROOT / page).read_text(encoding="utf-8"))


def prose_of(markdown: str) -> str:
    """Markdown without code blocks and claims: both are values that running the snippets checks."""
    return CLAIM_RE.sub("", FENCE.sub("", markdown))


def full_name(name: str) -> str:
    head, _, rest = name.rstrip(".").partition(".")
    return f"{ALIASES.get(head, head)}.{rest}"


def is_api(name: str) -> bool:
    """Dunder attributes and implementation paths (`torch.nn.modules.linear`) are not looked up."""
    return "__" not in name and ".modules." not in name and name not in WITHOUT_A_PAGE


def named_apis(text: str) -> set[str]:
    return {full_name(name) for name in NAMED_API.findall(text) if is_api(full_name(name))}


def reference_targets(text: str) -> set[str]:
    return {generated or anchor for generated, anchor in REFERENCE_TARGET.findall(text)}


def linked_apis(text: str) -> set[str]:
    linked = set()
    for link_text, url in LINK.findall(text):
        linked |= {full_name(name) for name in NAMED_API.findall(link_text)} | reference_targets(url)
    return linked


@pytest.mark.parametrize("page", PAGES)
def test_every_api_the_prose_names_is_linked_to_the_reference(page):
    text = prose(page)
    unlinked = sorted(named_apis(text) - linked_apis(text))
    assert not unlinked, f"{page}: link each of these to docs.pytorch.org once: {', '.join(unlinked)}"


@pytest.mark.parametrize("page", PAGES)
def test_reference_links_name_apis_that_exist_in_the_installed_torch(page):
    missing = []
    for name in sorted(reference_targets((ROOT / page).read_text(encoding="utf-8"))):
        try:
            pkgutil.resolve_name(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"{page}: links name APIs that torch {torch.__version__} lacks: {', '.join(missing)}"


def test_the_link_checks_read_names_links_and_aliases():
    text = (
        "`nn.Linear(8, 3)` and `F.relu` and `torch.nn.modules.linear.Linear`, a claim "
        '`torch.float32`{ data-claim="x/01_a.py:dtype" }, then '
        "[`Linear`](https://docs.pytorch.org/docs/stable/generated/torch.nn.Linear.html) and "
        "[`zeros_`](https://docs.pytorch.org/docs/stable/nn.init.html#torch.nn.init.zeros_).\n"
        "```python\nx = `torch.ones`\n```\n"
    )
    assert named_apis(prose_of(text)) == {"torch.nn.Linear", "torch.nn.functional.relu"}
    assert linked_apis(text) == {"torch.nn.Linear", "torch.nn.init.zeros_"}

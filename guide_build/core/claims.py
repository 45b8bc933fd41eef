"""Numbers and words in the prose that must agree with what a snippet computed.

In a page, a claim is bold or inline-code text with a `data-claim` attribute naming a snippet
(relative to `snippets/`) and one of its top-level variables:

    The model has **115**{ data-claim="worked/parameter_count.py:total" } parameters.

The build (hooks.py) and the tests (tests/test_claims.py) both check every claim: an integer must
be equal, a decimal must agree to the digits written, a shape must list the same sizes, and a
string claim must occur in the computed string (error messages are quoted by a stable part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CLAIM_RE = re.compile(
    r"(\*\*|`)(?P<text>[^*`]+?)\1\{[ \t]*data-claim=(?P<quote>[\"'])(?P<snippet>[^\"':]+):(?P<name>\w+(?:@rank\d)?)(?P=quote)[ \t]*\}"
)


@dataclass(frozen=True)
class ProseCheck:
    """Text at a page's line that a snippet (relative to snippets/) checks."""

    page: str
    line: int
    text: str
    snippet: str

    @property
    def snippet_path(self) -> str:
        return f"snippets/{self.snippet}"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Claim(ProseCheck):
    name: str  # the snippet's top-level variable that holds the value


def find_claims(markdown: str, page: str) -> list[Claim]:
    """The claims in a page's prose (fenced code blocks are examples of Markdown, not claims)."""
    prose = blank_fenced_blocks(markdown)
    claims = []
    for match in CLAIM_RE.finditer(prose):
        line = prose.count("\n", 0, match.start()) + 1
        claims.append(Claim(page, line, " ".join(match["text"].split()), match["snippet"], match["name"]))
    return claims


def blank_fenced_blocks(markdown: str) -> str:
    lines = markdown.split("\n")
    fence = ""
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not fence:
            opening = re.match(r"(`{3,}|~{3,})", stripped)
            if opening:
                fence = opening[1]
                lines[number] = ""
        else:
            if re.fullmatch(re.escape(fence[0]) + f"{{{len(fence)},}}", stripped):
                fence = ""
            lines[number] = ""
    return "\n".join(lines)


def claim_error(claim: Claim, facts: dict[str, object]) -> str | None:
    """None if the claim holds for these facts, else a message naming page, line and snippet."""
    if claim.name not in facts:
        known = ", ".join(sorted(facts)) or "none"
        return (
            f"{claim.where}: the claim {claim.text!r} refers to {claim.name!r} in {claim.snippet_path}, "
            f"which has no such number, string or shape (it has: {known})"
        )
    value = facts[claim.name]
    if agrees(claim.text, value):
        return None
    return f"{claim.where}: the page says {claim.text!r} for {claim.snippet_path}:{claim.name}, but the snippet computed {value!r}"


def agrees(text: str, value: object) -> bool:
    if isinstance(value, bool):
        return text.strip().lower() == str(value).lower()
    if isinstance(value, (int, float)):
        return _agrees_numerically(text, value)
    if isinstance(value, list):
        return re.findall(r"-?\d+", text) == [str(size) for size in value]
    if isinstance(value, str):
        return " ".join(text.split()) in " ".join(value.split())
    return False


def _agrees_numerically(text: str, value: int | float) -> bool:
    cleaned = text.strip().replace(",", "").replace("_", "").replace("\u2212", "-")
    try:
        written = Decimal(cleaned)
    except InvalidOperation:
        return False
    if isinstance(value, int):
        return written == value
    exponent = written.as_tuple().exponent
    tolerance = Decimal(5) * Decimal(10) ** (exponent - 1)
    return abs(Decimal(repr(value)) - written) <= tolerance

"""Numbers and words in the prose that must agree with what a snippet computed.

In a page, a claim is bold or inline-code text with a `data-claim` attribute naming a snippet
(relative to `snippets/`) and one of its top-level variables:

    The model has **115**{ data-claim="worked/parameter_count.py:total" } parameters.

The build (hooks.py) and the tests (tests/test_claims.py) both check every claim: an integer must
be equal, a decimal must agree to the digits written, a shape must list the same sizes, and a
string claim must occur in the computed string (error messages are quoted by a stable part).
A value that belongs to one torch release (a count taken from torch's own files, say) carries the
release in its mark, `name@2.13`: it is checked where that release runs (guide_build/core/releases.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from guide_build.core import releases
from guide_build.core.figures import EXECUTED_FENCE_RE, alt_of

CLAIM_RE = re.compile(
    r"(\*\*|`)(?P<text>[^*`]+?)\1\{[ \t]*data-claim=(?P<quote>[\"'])(?P<snippet>[^\"':]+):(?P<name>\w+(?:@rank\d)?)"
    r"(?:@(?P<release>\d+\.\d+))?(?P=quote)[ \t]*\}"
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
    release: str | None = None  # `name@2.13`: the value of that torch release


def find_claims(markdown: str, page: str) -> list[Claim]:
    """The claims in a page's prose (fenced code blocks are examples of Markdown, not claims)."""
    prose = blank_fenced_blocks(markdown)
    claims = []
    for match in CLAIM_RE.finditer(prose):
        line = prose.count("\n", 0, match.start()) + 1
        text = " ".join(match["text"].split())
        claims.append(Claim(page, line, text, match["snippet"], match["name"], match["release"]))
    return claims


def blank_fenced_blocks(markdown: str) -> str:
    """The page with its fenced blocks blanked line for line, but for the alt text on an executed
    block's fence (`alt="..."`): it tells a screen reader what a figure shows, so it is prose,
    checked as prose."""
    lines = markdown.split("\n")
    for number, role, _ in fenced_block_lines(markdown):
        executed = role == "fence" and EXECUTED_FENCE_RE.match(lines[number])
        lines[number] = (alt_of(lines[number]) or "") if executed else ""
    return "\n".join(lines)


def fenced_block_lines(markdown: str) -> Iterator[tuple[int, str, int]]:
    """(index, role, indent) of each line of a fenced code block: role "fence" for the lines that
    open and close it, "code" for the lines between; indent is that of its opening fence."""
    fence, indent = "", 0
    for number, line in enumerate(markdown.split("\n")):
        stripped = line.strip()
        if not fence:
            opening = re.match(r"(`{3,}|~{3,})", stripped)
            if opening:
                fence, indent = opening[1], len(line) - len(line.lstrip())
                yield number, "fence", indent
        elif re.fullmatch(re.escape(fence[0]) + f"{{{len(fence)},}}", stripped):
            fence = ""
            yield number, "fence", indent
        else:
            yield number, "code", indent


def release_error(claim: Claim) -> str | None:
    """A message if the claim quotes the value of a release other than the pinned one."""
    if claim.release is None:
        return None
    if problem := releases.pin_problem():
        return f"{claim.where}: {problem}"
    if releases.release_of(claim.release) == releases.pinned_release():
        return None
    pinned = releases.shown(releases.pinned_release())
    return (
        f"{claim.where}: the page quotes torch {claim.release}'s value of {claim.snippet_path}:{claim.name}, "
        f"but the site is built with torch {pinned}: quote that release's value, and name it in the prose "
        f"and in the mark (@{pinned})"
    )


def not_checked_here(claim: Claim) -> str | None:
    """Why the claim cannot be checked with the torch installed here, if it cannot."""
    if claim.release is None or releases.applies(claim.release, releases.running_release()):
        return None
    running = releases.shown(releases.running_release())
    return f"{claim.where}: the value of torch {claim.release}, not compared on torch {running}"


def claim_error(claim: Claim, facts: dict[str, object]) -> str | None:
    """None if the claim holds for these facts, else a message naming page, line and snippet. A
    value of another release than the one installed is not compared (not_checked_here says so)."""
    error = release_error(claim)
    if error or not_checked_here(claim):
        return error
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

"""Lighter highlighted code.

Pygments wraps every plain name in `<span class="n">`. On a chapter page, Material colours that
class with the code's own colour (its `--md-code-hl-name-color` is `--md-code-fg-color`, in both
palettes, and the guide's stylesheet does not change it); on a notebook page, the shared notebook
stylesheet gives `.n` no rule, so a name takes its block's colour. Either way the span changes
nothing a reader sees, and there are thousands on a long chapter: unwrapping them takes about a
seventh off its HTML.

A comment that only labels an assertion for the prose (`# witness: label`) stays out of the search
index, which every visitor downloads: a label is not what a reader searches for, and the labels
were 53 kB of it. The attribute is the one the check marks' notes carry (markers.py).
"""

from __future__ import annotations

import re

from guide_build.core.markers import SEARCH_EXCLUDE
from guide_build.core.witnesses import LABEL_COMMENT_RE

_PLAIN_NAME = re.compile(r'<span class="n">([^<]*)</span>')
_COMMENT = re.compile(r'<span class="c1">([^<]*)</span>')


def unwrap_plain_names(html: str) -> str:
    """The page's HTML with each plain-name span replaced by its text."""
    return _PLAIN_NAME.sub(r"\1", html)


def witness_labels_outside_search(html: str) -> str:
    """The page's HTML with each `# witness: label` comment marked for the search to leave out."""

    def mark(match: re.Match[str]) -> str:
        if not LABEL_COMMENT_RE.fullmatch(match[1]):
            return match[0]
        return f'<span class="c1" {SEARCH_EXCLUDE}>{match[1]}</span>'

    return _COMMENT.sub(mark, html)

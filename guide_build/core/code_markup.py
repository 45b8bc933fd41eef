"""Lighter highlighted code.

Pygments wraps every plain name in `<span class="n">`. On a chapter page, Material colours that
class with the code's own colour (its `--md-code-hl-name-color` is `--md-code-fg-color`, in both
palettes, and the guide's stylesheet does not change it); on a notebook page, the shared notebook
stylesheet gives `.n` no rule, so a name takes its block's colour. Either way the span changes
nothing a reader sees, and there are thousands on a long chapter: unwrapping them takes about a
seventh off its HTML.
"""

from __future__ import annotations

import re

_PLAIN_NAME = re.compile(r'<span class="n">([^<]*)</span>')


def unwrap_plain_names(html: str) -> str:
    """The page's HTML with each plain-name span replaced by its text."""
    return _PLAIN_NAME.sub(r"\1", html)

"""Lighter highlighted code on the chapter pages.

Pygments wraps every plain name in `<span class="n">`. Material colours that class with the code's
own colour (its `--md-code-hl-name-color` is `--md-code-fg-color`, in both palettes, and the guide's
stylesheet does not change it), so the span changes nothing a reader sees. There are thousands on a
long chapter: unwrapping them takes about a seventh off its HTML. Notebook pages keep theirs, since
JupyterLab's stylesheet gives names a colour of their own.
"""

from __future__ import annotations

import re

_PLAIN_NAME = re.compile(r'<span class="n">([^<]*)</span>')


def unwrap_plain_names(html: str) -> str:
    """The page's HTML with each plain-name span replaced by its text."""
    return _PLAIN_NAME.sub(r"\1", html)

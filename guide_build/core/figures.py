"""Figures drawn by snippets (`# guide: figure=name.svg`), made ready for a page.

A snippet draws its figure with matplotlib from the objects it computed and saves it as SVG; the
runner returns the file's text. Here the SVG is made to sit in a page: inline (no request to fetch
it), sized by its box, its black drawn in the text colour and its white in the background colour
of the current palette (so one drawing serves light and dark mode), its ids made unique on the
page, and named for a screen reader by the alt text the page gives.
"""

from __future__ import annotations

import html
import re

_HEADER_RE = re.compile(r"<\?xml.*?\?>\s*|<!DOCTYPE.*?>\s*|<metadata>.*?</metadata>\s*", re.S)
_SIZE_RE = re.compile(r'<svg([^>]*?) width="(?P<width>[\d.]+)pt" height="[\d.]+pt"')
_ID_RE = re.compile(r'\sid="(?P<id>[^"]*)"')
_REFERENCE_RE = re.compile(r'(?P<lead>url\(#|xlink:href="#)(?P<id>[^)"]*)')
_GEOMETRY_RE = re.compile(r'\s(?:d|transform|x|y|width|height)="[^"]*"')
_LONG_DECIMAL_RE = re.compile(r"(?<![\w.])(-?\d+\.\d\d)\d+")
ALT_OPTION_RE = re.compile(
    r"""\balt=(?P<quote>["'])(?P<alt>.*?)(?P=quote)"""
)  # either quote, as the fence's parser takes
EXECUTED_FENCE_RE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*python\b.*\bexec=")  # a block markdown-exec may run


def themed_svg(svg: str, alt: str, prefix: str) -> str:
    """The figure as inline SVG for a page: `alt` names it, `prefix` keeps its ids apart."""
    svg = _HEADER_RE.sub("", svg).strip()
    # The fallback serves the notebook outside the site (Jupyter, Colab): white becomes see-through.
    svg = svg.replace("#000000", "currentColor").replace("#ffffff", "var(--md-default-bg-color, transparent)")
    svg = page_unique_ids(svg, prefix)
    # matplotlib writes coordinates in points to six places; a hundredth of a point is invisible.
    svg = _GEOMETRY_RE.sub(lambda match: _LONG_DECIMAL_RE.sub(r"\1", match[0]), svg)
    # matplotlib's style sheet says `*{...}`: inline in a page it would style every SVG there.
    svg = svg.replace('<style type="text/css">*{', f'<style type="text/css">#{prefix}-figure *{{')
    label = html.escape(alt, quote=True)
    return _SIZE_RE.sub(
        lambda match: (
            f'<svg{match[1]} id="{prefix}-figure" role="img" aria-label="{label}" focusable="false" '
            f'style="width: 100%; max-width: {match["width"]}pt; height: auto; fill: currentColor"'
        ),
        svg,
        count=1,
    )


def page_unique_ids(svg: str, prefix: str) -> str:
    """The ids that the drawing refers to (clip paths, reused markers), made unique on the page by
    `prefix`; matplotlib's other ids, one per group and referred to by nothing, are dropped: they
    were a quarter of a figure's bytes."""
    referenced = {match["id"] for match in _REFERENCE_RE.finditer(svg)}
    svg = _ID_RE.sub(lambda match: f' id="{prefix}-{match["id"]}"' if match["id"] in referenced else "", svg)
    return _REFERENCE_RE.sub(lambda match: f"{match['lead']}{prefix}-{match['id']}", svg)


def figure_html(svg: str, alt: str, prefix: str) -> str:
    return f'<figure class="guide-figure">{themed_svg(svg, alt, prefix)}</figure>'


def alt_of(fence_line: str) -> str | None:
    """The `alt="..."` option of an executed block's opening fence line (the first, if a line
    has two: witnesses.unread_markup reports such a line)."""
    match = ALT_OPTION_RE.search(fence_line)
    return match["alt"].strip() if match else None

"""Expand `--8<--` includes for pytest-markdown-docs, so each page is tested as readers see it.

pytest-markdown-docs reads raw Markdown and would run the include line itself as Python. Its
`pytest_markdown_docs_markdown_it` hook lets us hand it a parser; ours pastes the snippet files in
with pymdownx.snippets itself (configured as in mkdocs.yml), then maps every token back to its
line in the page. A fence that shows only a section of a file is an excerpt, not a program, so it
is marked `notest`; the whole file runs wherever the page includes all of it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import markdown
from mkdocs.utils.yaml import yaml_load

MATERIAL_BLOCK_RE = re.compile(r'^\s*(?:!!!|\?\?\?\+?|===)\+?\s*(?:\w[\w-]*)?\s*(?:"[^"]*")?\s*$')
INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"(?P<target>[^"]+)"\s*$')


class IncludeExpandingParser:
    """Wraps a markdown-it parser: includes are expanded before parsing."""

    def __init__(self, parser, config_file: str | Path = "mkdocs.yml") -> None:
        self._parser = parser
        self._config_file = Path(config_file)

    def parse(self, text: str, env=None):
        expanded, origins, excerpt_lines = expand_includes(text, self._config_file)
        tokens = self._parser.parse(unwrap_material_blocks(expanded), env)
        for token in tokens:
            if not token.map:
                continue
            first, end = token.map
            if token.type == "fence" and any(first < line < end for line in excerpt_lines):
                token.info += " notest"
            token.map = [origins[first], origins[max(end - 1, first)] + 1]
        return tokens


def expand_includes(text: str, config_file: str | Path = "mkdocs.yml") -> tuple[str, list[int], set[int]]:
    """Return the expanded text, the page line (0-based) each of its lines came from, and the
    expanded lines (0-based) that hold code pasted from a section of a file."""
    preprocessor = _snippet_preprocessor(str(config_file))
    lines: list[str] = []
    origins: list[int] = []
    excerpt_lines: set[int] = set()
    for page_line, line in enumerate(text.split("\n")):
        match = INCLUDE_RE.match(line)
        pasted = preprocessor.run([line]) if match else [line]
        if match and _names_section(match["target"]):
            excerpt_lines.update(range(len(lines), len(lines) + len(pasted)))
        lines.extend(pasted)
        origins.extend([page_line] * len(pasted))
    return "\n".join(lines), origins, excerpt_lines


def unwrap_material_blocks(text: str) -> str:
    """Open up admonitions, collapsible blocks and content tabs (`!!!`, `???`, `===`), whose
    bodies are indented, so that the code blocks inside them are code blocks to CommonMark too.
    Each title line becomes blank and each body line loses its block's indentation, so the text
    keeps its line count (the line mapping stays valid)."""
    lines = text.split("\n")
    open_blocks: list[int] = []  # the indentation of each enclosing block's title line
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" "))
        while open_blocks and line.strip() and indent <= open_blocks[-1]:
            open_blocks.pop()
        if MATERIAL_BLOCK_RE.match(line):
            lines[number] = ""
            open_blocks.append(indent)
            continue
        for _ in open_blocks:
            if line.startswith("    "):
                line = line[4:]
        lines[number] = line
    return "\n".join(lines)


def _names_section(target: str) -> bool:
    return ":" in target.removeprefix("snippets/").split("/")[-1]


@cache
def _snippet_preprocessor(config_file: str):
    config = yaml_load(Path(config_file).read_text(encoding="utf-8"))
    options = next(
        entry["pymdownx.snippets"]
        for entry in config["markdown_extensions"]
        if isinstance(entry, dict) and "pymdownx.snippets" in entry
    )
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
    return md.preprocessors["snippet"]

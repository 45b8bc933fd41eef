"""Expand `--8<--` includes for pytest-markdown-docs, so each page is tested as readers see it.

pytest-markdown-docs reads raw Markdown and would run the include line itself as Python. Its
`pytest_markdown_docs_markdown_it` hook lets us hand it a parser; ours pastes the snippet files in
with pymdownx.snippets itself (configured as in mkdocs.yml), then maps every token back to its
line in the page. A fence that holds an included snippet file is marked `notest`: a section of a
file is an excerpt, not a program, and a whole file is run by tests/test_snippets.py in a process of
its own (guide_build.core.runner), as the build runs it. What pytest-markdown-docs runs is the
code written in the page itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import markdown
from mkdocs.utils.yaml import yaml_load

from guide_build.core.page_source import INCLUDE_RE, unwrap_material_blocks


class IncludeExpandingParser:
    """Wraps a markdown-it parser: includes are expanded before parsing."""

    def __init__(self, parser, config_file: str | Path = "mkdocs.yml") -> None:
        self._parser = parser
        self._config_file = Path(config_file)

    def parse(self, text: str, env=None):
        expanded, origins, included_lines = expand_includes(text, self._config_file)
        tokens = self._parser.parse(unwrap_material_blocks(expanded), env)
        for token in tokens:
            if not token.map:
                continue
            first, end = token.map
            if token.type == "fence" and any(first < line < end for line in included_lines):
                token.info += " notest"
            token.map = [origins[first], origins[max(end - 1, first)] + 1]
        return tokens


def expand_includes(text: str, config_file: str | Path = "mkdocs.yml") -> tuple[str, list[int], set[int]]:
    """Return the expanded text, the page line (0-based) each of its lines came from, and the
    expanded lines (0-based) that hold code pasted from a file."""
    preprocessor = _snippet_preprocessor(str(config_file))
    lines: list[str] = []
    origins: list[int] = []
    included_lines: set[int] = set()
    for page_line, line in enumerate(text.split("\n")):
        match = INCLUDE_RE.match(line)
        pasted = preprocessor.run([line]) if match else [line]
        if match:
            included_lines.update(range(len(lines), len(lines) + len(pasted)))
        lines.extend(pasted)
        origins.extend([page_line] * len(pasted))
    return "\n".join(lines), origins, included_lines


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

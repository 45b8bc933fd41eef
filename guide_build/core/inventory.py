"""The home page's table of what each page runs and checks, counted from the sources at build time.

A page's examples are the snippet files it includes whole (an excerpt is not run on its own); its
claims are the prose values checked against them; its witnessed statements are the sentences
backed by a labelled assertion; its assertions are the `assert` statements in
those files; its exercises are the included files named `NN_exercise_*.py`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from guide_build.core.claims import find_claims
from guide_build.core.page_source import page_title, whole_file_includes
from guide_build.core.witnesses import find_witnesses

MARKER = "<!-- guide-inventory -->"
# The table each page was last built with. `mkdocs serve` rebuilds in one process, and rebuilds the
# page only when its table would change (guide_build.adapters.mkdocs_hooks), not on every edit of any snippet.
shown: dict[str, str] = {}


@dataclass(frozen=True)
class PageCounts:
    title: str
    src_uri: str
    examples: int
    claims: int
    witnessed: int
    assertions: int
    exercises: int


def count_page(src_uri: str, markdown: str, title: str | None = None) -> PageCounts:
    snippets = sorted(set(whole_file_includes(markdown)))
    claims, witnessed = _statements(src_uri, markdown)
    return PageCounts(
        title=title or page_title(markdown) or src_uri,
        src_uri=src_uri,
        examples=len(snippets),
        claims=claims,
        witnessed=witnessed,
        assertions=sum(assertions_in(Path(snippet)) for snippet in snippets),
        exercises=sum("_exercise_" in Path(snippet).name for snippet in snippets),
    )


@functools.lru_cache(maxsize=256)  # each rebuild of `mkdocs serve` counts every page again
def _statements(src_uri: str, markdown: str) -> tuple[int, int]:
    """The page's claims and witnessed statements."""
    return len(find_claims(markdown, f"docs/{src_uri}")), len(find_witnesses(markdown, f"docs/{src_uri}"))


def assertions_in(path: Path) -> int:
    status = path.stat()
    return _assertions(str(path), status.st_mtime_ns, status.st_size)


@functools.cache  # parsing every snippet takes a noticeable part of a rebuild in `mkdocs serve`
def _assertions(path: str, mtime_ns: int, size: int) -> int:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def nav_pages(nav: Iterable) -> Iterator[tuple[str | None, str]]:
    """The (title, path) of each page of an mkdocs.yml `nav`, in reading order."""
    for entry in nav:
        title, value = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(value, list):
            yield from nav_pages(value)
        elif isinstance(value, str) and value.endswith(".md"):
            yield title, value


def inventory_table(nav: Iterable, docs_dir: Path) -> str:
    """The table for the pages of `nav`, read from `docs_dir`."""
    pages = [(title, page) for title, page in nav_pages(nav) if (docs_dir / page).is_file()]  # MkDocs reports the rest
    return table([count_page(page, (docs_dir / page).read_text(encoding="utf-8"), title) for title, page in pages])


def table(rows: list[PageCounts]) -> str:
    """A Markdown table with one row per page that runs examples, and a total."""
    rows = [row for row in rows if row.examples]
    lines = [
        "| Page | Examples | Checked values | Witnessed statements | Assertions | Exercises |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    columns = ("examples", "claims", "witnessed", "assertions", "exercises")
    for row in rows:
        counts = " | ".join(str(getattr(row, name)) for name in columns)
        lines.append(f"| [{row.title}]({row.src_uri}) | {counts} |")
    totals = [sum(getattr(row, name) for row in rows) for name in columns]
    lines.append("| **All pages** | " + " | ".join(f"**{total}**" for total in totals) + " |")
    return "\n".join(lines)

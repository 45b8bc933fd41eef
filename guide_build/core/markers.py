"""Checked values and witnessed statements, rendered as plain prose with a small check mark.

A claim is written `**115**{ data-claim="chapter/file.py:name" }` and a witnessed statement
`*phrase*{ data-witness="chapter/file.py:label" }`; Markdown's attr_list turns them into
`<strong data-claim=…>` and `<em data-witness=…>`. Here each becomes unstyled text followed by a
button: hovering it shows a tooltip, and pressing it (click, tap, Enter or Space) opens a note
that says which snippet line checked the text, with links to the code on the page and in the
repository. The button and its note are ordinary HTML (the `popover` attribute), so they work
with a keyboard and a screen reader, and need no script.
"""

from __future__ import annotations

import ast
import functools
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from guide_build.core import gpu_record, releases
from guide_build.core.witnesses import labelled_assertions

CLAIM_ELEMENT_RE = re.compile(
    r'<(?P<tag>strong|code) data-(?P<kind>claim)="(?P<target>[^"]+)">(?P<inner>.*?)</(?P=tag)>', re.S
)
WITNESS_ELEMENT_RE = re.compile(
    r'<(?P<tag>em) data-(?P<kind>witness|gpu-witness|cpu-witness)="(?P<target>[^"]+)">(?P<inner>.*?)</em>', re.S
)


def render_markers(page_html: str, repository_url: str, facts: Mapping[str, dict] | None = None) -> str:
    """Replace every claim and witness element of a rendered page by text and a marker. `facts`
    holds the top-level values of the page's snippet runs, by path: a witness marked
    `label@if:name` was checked where its snippet's `name` was True. The notes' ids need to be
    unique in one page only (a page of 130 marks carried 6 kB of longer ones)."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        count += 1
        snippet, _, target = match["target"].partition(":")
        name, rank, release, condition = parts_of(target)
        path = f"snippets/{snippet}"
        inner = match["inner"]
        text = f"<code>{inner}</code>" if match["tag"] == "code" else inner
        if match["kind"] == "claim":
            line = assignment_line(path, name)
            on_rank = f" on rank {rank.removeprefix('rank')}" if rank else ""
            what = f"the value is <code>{html.escape(name)}</code>{on_rank}, computed by"
            short = f"Checked: {name}{on_rank} in {path}"
        else:
            assertion = labelled_assertions(path).get(name) if Path(path).is_file() else None
            line = assertion.line if assertion else 0
            what = "this is asserted by"
            short = f"Checked: an assertion in {path}"
        where = f"line {line} of" if line else ""
        glyph, checked = "✓", "Checked when this page was built"
        if release:
            glyph, checked, short = release_note(release, path, short)
        if condition and glyph == "✓":
            held = (facts or {}).get(path, {}).get(condition)
            glyph, checked, short = condition_note(condition, held, checked, path, short)
        if match["kind"] == "gpu-witness":
            held = gpu_record.witnesses_held(path)
            what = "on CUDA this is asserted by"
            gpu_torch = releases.release_of(gpu_record.load().torch) if held is not None else None
            if held is not None and name in held:
                checked = f"Checked by the GPU test run ({gpu_record.load().summary})"
                short = f"Checked on CUDA: an assertion in {path}"
            elif release and gpu_torch and not releases.applies(release, gpu_torch):
                glyph, short = "○", f"Not checked on CUDA with torch {releases.shown(gpu_torch)}: {path}"
                checked = f"Not checked: the recorded GPU test run used torch {releases.shown(gpu_torch)}, and {scope_of(release)}"
            else:
                glyph, checked = "○", "Not checked by this build, which ran on CPU; the GPU test run checks it"
                short = f"To be checked on CUDA: an assertion in {path}"
        note_id = f"check-{count}"
        code_link = f'<a href="#{block_id(path)}">the example on this page</a>'
        repository_link = (
            f'<a href="{repository_url.rstrip("/")}/blob/main/{path}#L{line}">line {line} in the repository</a>'
        )
        note = f"{checked}: {what} {where} <code>{path}</code>. See {code_link}, or {repository_link}."
        return (
            f'<span class="checked checked-{match["kind"]}">{text}'
            f'<button type="button" class="check-mark" popovertarget="{note_id}" title="{html.escape(short)}" '
            f'aria-label="{html.escape(short)}: show how" {SEARCH_EXCLUDE}>{glyph}</button></span>'
            f'<span class="check-note" id="{note_id}" popover role="note" {SEARCH_EXCLUDE}>{note}</span>'
        )

    # Claims first: a value may sit inside a witnessed statement.
    return WITNESS_ELEMENT_RE.sub(replace, CLAIM_ELEMENT_RE.sub(replace, page_html))


# Material's search leaves out an element with this attribute (and strips the attribute from the
# page): a check mark's note explains where a statement was checked, which is not what a reader
# searches for, and the notes of 2,000 marks made a tenth of the search index. The mark itself
# stays out too: indexed, each ✓ took 6 bytes and stuck to the word before it.
SEARCH_EXCLUDE = 'data-search-exclude="note"'  # also on labelling comments: code_markup.py


def release_note(mark: str, path: str, short: str) -> tuple[str, str, str]:
    """The mark, note and tooltip of a value of one torch release ('2.13'), or of a statement true
    from one on ('2.13+'): checked by a build whose torch the mark applies to, and not by another."""
    running, scope = releases.running_release(), scope_of(mark)
    if not releases.applies(mark, running):
        ran = releases.shown(running)
        return (
            "○",
            f"Not checked by this build, which ran torch {ran} ({scope})",
            f"Not checked with torch {ran}: {path}",
        )
    return "✓", f"Checked when this page was built ({scope})", short


def condition_note(condition: str, held: object, checked: str, path: str, short: str) -> tuple[str, str, str]:
    """The mark, note and tooltip of a statement about the machines where the snippet's
    `condition` is True: checked by a build where it was, and not by another."""
    if held is True:
        return "✓", f"{checked}, on a machine where <code>{condition}</code> is true", short
    return (
        "○",
        f"Not checked by this build: <code>{condition}</code> was not true on its machine, and the "
        "statement is about the machines where it is",
        f"Not checked on this machine ({condition} is not true): {path}",
    )


class Mark(NamedTuple):
    """What a claim's or witness's target says after its snippet: 'total@rank1@2.13',
    'flags-set-conv@2.13+', 'tables-differ@if:has_avx2'."""

    name: str
    rank: str | None  # 'rank1'
    release: str | None  # '2.13' or '2.13+'
    condition: str | None  # 'has_avx2'


def scope_of(mark: str) -> str:
    """'2.13+' -> 'true from torch 2.13 on'; '2.13' -> "torch 2.13's value"."""
    release = mark.rstrip("+")
    return f"true from torch {release} on" if mark.endswith("+") else f"torch {release}'s value"


def parts_of(target: str) -> Mark:
    name, *marks = target.split("@")
    rank = next((mark for mark in marks if mark.startswith("rank")), None)
    release = next((mark for mark in marks if mark[:1].isdigit()), None)
    condition = next((mark.removeprefix("if:") for mark in marks if mark.startswith("if:")), None)
    return Mark(name, rank, release, condition)


def block_id(snippet_path: str) -> str:
    """The id of the element that shows a snippet's code on its page."""
    return "example-" + re.sub(r"[^a-z0-9]+", "-", snippet_path.removeprefix("snippets/").removesuffix(".py").lower())


def assignment_line(path: str, name: str) -> int:
    """The line of the last top-level assignment to `name` in the snippet (0 if none)."""
    file = Path(path)
    if not file.is_file():
        return 0
    status = file.stat()
    return _assignment_lines(path, status.st_mtime_ns, status.st_size).get(name, 0)


@functools.lru_cache(maxsize=1024)
def _assignment_lines(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except SyntaxError:
        return {}
    lines: dict[str, int] = {}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name):
                    lines[leaf.id] = max(lines.get(leaf.id, 0), node.lineno)
    return lines

"""Reading a page's Markdown source: its snippet includes, executed blocks and Material blocks.

A page embeds a snippet as

    ```python exec="on" title="snippets/worked_examples/01_parameter_count.py"
    --8<-- "snippets/worked_examples/01_parameter_count.py"
    ```

or a named section of it (`file.py:name`, between `# --8<-- [start:name]` and `[end:name]`
lines). `include_problems` finds, before anything is rendered, every include that would break the
build (a missing file or section, a malformed fence), each with its page and line, so that one
strict build reports all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SNIPPETS_DIR = Path("snippets")
SECTION_MARKER = "--8<-- ["
SNIPPET_LINK_PREFIX = "snippet-file:"
INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"(?P<target>[^"]+)"\s*$')
EXEC_FENCE_RE = re.compile(r'^(?P<indent>\s*)(?P<ticks>`{3,})python\b(?P<info>[^\n]*\bexec="on"[^\n]*)$')
TITLE_RE = re.compile(r'\btitle="(?P<title>[^"]*)"')
MATERIAL_BLOCK_RE = re.compile(r'^\s*(?:!!!|\?\?\?\+?|===)\+?\s*(?:\w[\w-]*)?\s*(?:"[^"]*")?\s*$')


@dataclass(frozen=True)
class ExecutedBlock:
    line: int  # 1-based line of the opening fence in the page
    title: str  # the snippet file the block runs
    target: str  # what its include names: the file, or file.py:section
    options: str  # the rest of the fence's info string


def executed_blocks(markdown: str) -> list[ExecutedBlock]:
    """The ```python exec="on" blocks of a page, in order, with the include each one holds."""
    lines = markdown.split("\n")
    blocks = []
    for number, line in enumerate(lines):
        fence = EXEC_FENCE_RE.match(line)
        if not fence:
            continue
        title = TITLE_RE.search(fence["info"])
        include = INCLUDE_RE.match(lines[number + 1]) if number + 1 < len(lines) else None
        blocks.append(
            ExecutedBlock(
                number + 1, title["title"] if title else "", include["target"] if include else "", fence["info"]
            )
        )
    return blocks


def include_problems(markdown: str, page: str) -> list[str]:
    """Every include or executed block of the page that cannot be built, as 'page:line: problem'."""
    problems = []
    for number, line in enumerate(markdown.split("\n"), 1):
        include = INCLUDE_RE.match(line)
        if include:
            problem = target_problem(include["target"])
            if problem:
                problems.append(f"{page}:{number}: {problem}")
    for block in executed_blocks(markdown):
        file = block.target.partition(":")[0]
        if not block.title:
            problems.append(f'{page}:{block.line}: an executed block needs title="snippets/<chapter>/<file>.py"')
        elif block.target and file != block.title:
            problems.append(f"{page}:{block.line}: the block is titled {block.title} but includes {file}")
    return problems


def target_problem(target: str) -> str | None:
    file, _, section = target.partition(":")
    path = Path(file)
    if not path.is_file():
        return f'the included file "{file}" does not exist'
    if not section:
        return None
    text = path.read_text(encoding="utf-8")
    start, end = f"[start:{section}]", f"[end:{section}]"
    if start not in text or end not in text:
        return f'"{file}" has no section "{section}" (mark it with "# --8<-- {start}" and "# --8<-- {end}" lines)'
    if text.index(start) > text.index(end):
        return f'"{file}": the section "{section}" ends before it starts'
    return None


def displayed_lines(path: Path) -> list[str]:
    """The file's lines as pymdownx.snippets shows them: section markers removed."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if SECTION_MARKER not in line]


def section_text(path: str | Path, name: str) -> str:
    """The lines between a file's `[start:name]` and `[end:name]` markers."""
    text = Path(path).read_text(encoding="utf-8")
    start, end = f"[start:{name}]", f"[end:{name}]"
    body = text.split(start, 1)[1].split("\n", 1)[1].split(end, 1)[0]
    return body.rsplit("\n", 1)[0].strip("\n")


def whole_file_includes(markdown: str) -> list[str]:
    """The snippet files a page includes whole (and so runs), in order."""
    found = []
    for line in markdown.split("\n"):
        include = INCLUDE_RE.match(line)
        if include and include["target"].startswith("snippets/") and include["target"].endswith(".py"):
            found.append(include["target"])
    return found


def page_title(markdown: str) -> str | None:
    return next((line[2:].strip() for line in markdown.split("\n") if line.startswith("# ")), None)


def unwrap_material_blocks(text: str) -> str:
    """Open up admonitions, collapsible blocks and content tabs (`!!!`, `???`, `===`), whose
    bodies are indented, so that the code blocks inside them are code blocks to CommonMark too.
    Each title line becomes blank and each body line loses its block's indentation, so the text
    keeps its line count (a line mapping stays valid)."""
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

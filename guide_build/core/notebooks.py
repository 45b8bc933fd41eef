"""Each chapter as a Jupyter notebook, generated from its page and snippet files at build time.

Prose becomes Markdown cells (claims unmarked, admonitions turned into bold headings, links made
absolute so they work in Colab); every whole-file snippet becomes a code cell, with the output the
build's own run of that snippet printed. Excerpts stay as Markdown code, since they are not
programs. The notebook is never kept by hand: edit the page or the snippet instead.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import v4

from guide_build.core.figures import alt_of, themed_svg
from guide_build.core.markers import block_id
from guide_build.core.page_source import (
    EXEC_FENCE_RE,
    INCLUDE_RE,
    displayed_lines,
    page_title,
    section_text,
    target_problem,
)
from guide_build.core.runner import SnippetRun
from guide_build.core.snippet_options import options_of
from guide_build.core.witnesses import alt_text_heard, checked_text_as_plain_text

BLOCK_TITLE_RE = re.compile(r'^(?P<indent>\s*)(?:!!!|\?\?\?\+?|===)\s*(?P<kind>\w+)?\s*(?:"(?P<title>[^"]*)")?\s*$')
PAGE_LINK_RE = re.compile(r"\]\((?!https?:|#|mailto:)(?P<target>[^)#\s]+\.md)(?P<anchor>#[^)\s]*)?\)")

_IMPORT_RE = re.compile(r"^(?:from|import)\s+([A-Za-z_]\w*)", re.M)
RunOf = Callable[[str], "SnippetRun | None"]
_METADATA = "pytorch_builders_guide"  # the guide's key in a notebook's or a cell's metadata


def notebook_for_page(
    markdown: str, page: str, site_url: str, run_of: RunOf, environment: str
) -> nbformat.NotebookNode:
    """`page` is the page's path under docs/; `run_of(snippet)` gives the build's run of a snippet."""
    title = page_title(markdown) or page
    page_url = site_url + _page_url(page)
    intro = (
        f"*This notebook is generated from the page [{title}]({page_url}) of the PyTorch Builders Guide. "
        f"The outputs shown were printed when the site was built ({environment}). Run the cells from top to "
        "bottom, on a CPU or a GPU: each code cell is also a complete program on its own.*"
    )
    cells = [v4.new_markdown_cell(intro)]
    prose: list[str] = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        fence = EXEC_FENCE_RE.match(lines[index])
        include = INCLUDE_RE.match(lines[index + 1]) if fence and index + 1 < len(lines) else None
        if include:
            _flush(prose, cells, page, site_url)
            alt = alt_text_heard(alt_of(lines[index]) or "")
            cells.extend(_cells_for_include(include["target"], run_of, alt))
            index = _end_of_fence(lines, index, fence["ticks"]) + 1
            continue
        prose.append(lines[index])
        index += 1
    _flush(prose, cells, page, site_url)
    cells[1:1] = _helpers_from_other_pages(markdown)
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # stable ids: an unchanged page gives byte-identical notebooks
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata[_METADATA] = {"page": f"docs/{page}", "built_with": environment}
    return notebook


def helpers_shown_elsewhere(markdown: str) -> list[Path]:
    """Helper modules that the page's examples import from their folder but that the page does not
    show whole (another page explains them): its notebook saves them first, so that it runs alone."""
    shown = {Path(match["target"]) for line in markdown.split("\n") if (match := INCLUDE_RE.match(line))}
    wanted: list[Path] = []
    queue = [path for path in shown if path.is_file()]
    while queue:
        source = queue.pop(0)
        for name in _IMPORT_RE.findall(source.read_text(encoding="utf-8")):
            helper = source.parent / f"{name}.py"
            if helper.is_file() and is_helper_module(helper) and helper not in shown and helper not in wanted:
                wanted.append(helper)
                queue.append(helper)
    return sorted(wanted)


def _helpers_from_other_pages(markdown: str) -> list[nbformat.NotebookNode]:
    cells = []
    for helper in helpers_shown_elsewhere(markdown):
        source = "\n".join(displayed_lines(helper)).strip("\n")
        note = f"The examples below import `{helper.name}`, a helper explained on another page of the guide. This cell saves it."
        cells += [
            v4.new_markdown_cell(note),
            _code_cell(f"%%writefile {helper.name}\n{source}", f"Writing {helper.name}\n"),
        ]
    return cells


def inputs_digest(markdown: str, site_url: str, environment: str, run_key: Callable[[str], str | None]) -> str:
    """A digest of what `notebook_for_page` reads: the page, each file it includes, and the key of
    the run whose output a notebook cell shows (`run_key(snippet)`, None when there is none). The
    same digest, the same notebook."""
    digest = hashlib.sha256("\0".join([markdown, site_url, environment]).encode())
    for line in markdown.split("\n"):
        include = INCLUDE_RE.match(line)
        if include:
            path = Path(include["target"].partition(":")[0])
            digest.update(f"\0{include['target']}\0{path.is_file() and run_key(str(path))}\0".encode())
            digest.update(path.read_bytes() if path.is_file() else b"")
    for helper in helpers_shown_elsewhere(markdown):
        digest.update(f"\0{helper}\0".encode() + helper.read_bytes())
    return digest.hexdigest()


def write_if_changed(notebook: nbformat.NotebookNode, path: Path) -> None:
    text = nbformat.writes(notebook) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _cells_for_include(target: str, run_of: RunOf, alt: str) -> list[nbformat.NotebookNode]:
    path, _, section = target.partition(":")
    problem = target_problem(target)
    if problem:  # the page's build reports it
        return [v4.new_markdown_cell(f"*This example is missing: {problem}.*")]
    if section:
        text = f"Part of `{path}`, which a later cell runs as a whole:\n\n```python\n{section_text(path, section)}\n```"
        return [v4.new_markdown_cell(text)]
    source = "\n".join(displayed_lines(Path(path))).strip("\n")
    run = run_of(path)
    output = run.output if run else None
    name = Path(path).name
    ranks = options_of(path).ranks
    if ranks:  # a torchrun script: saved as a file, then launched as the page says
        command = f"!{launch_command(name, ranks)}"
        written = _code_cell(f"%%writefile {name}\n{source}", f"Writing {name}\n")
        return [written, _runs(path, _code_cell(command, output))]
    if not is_helper_module(Path(path)):
        cell = _runs(path, _code_cell(source, output))
        for svg in (run.figures if run else {}).values():
            # As on the page: inline, named by the alt text, in the notebook's own colours. The
            # plain SVG stays for viewers that show no HTML.
            html = themed_svg(svg, alt, block_id(path))
            data = {"text/html": html, "image/svg+xml": svg, "text/plain": alt}
            cell.outputs.append(v4.new_output("display_data", data=data))
        return [cell]
    # Scripts import a helper module from their own folder: save it as a file first, then run it.
    written = _code_cell(f"%%writefile {name}\n{source}", f"Writing {name}\n")
    return [written, _runs(path, _code_cell(f"%run {name}", output))]


def snippet_of(cell: nbformat.NotebookNode) -> str | None:
    """The snippet file whose run a code cell is (and whose output it shows), if it is one."""
    return cell.get("metadata", {}).get(_METADATA, {}).get("snippet")


def _runs(path: str, cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell.metadata[_METADATA] = {"snippet": path}
    return cell


def launch_command(path: str, ranks: int) -> str:
    """How a reader runs a distributed example (the page shows it; its notebook runs it)."""
    return f"torchrun --nproc-per-node {ranks} {path}"


def is_helper_module(path: Path) -> bool:
    """A snippet that other snippets import: its name is a Python identifier (no NN_ prefix)."""
    return path.stem.isidentifier()


def _code_cell(source: str, output: str | None) -> nbformat.NotebookNode:
    cell = v4.new_code_cell(source)
    if output:
        cell.outputs = [v4.new_output("stream", name="stdout", text=output)]
    return cell


def _end_of_fence(lines: list[str], opening: int, ticks: str) -> int:
    for index in range(opening + 1, len(lines)):
        if lines[index].strip() == ticks:
            return index
    return len(lines) - 1  # an unclosed block runs to the end of the page, as in Markdown


def _flush(prose: list[str], cells: list, page: str, site_url: str) -> None:
    text = _notebook_markdown(_outdented_start(prose), page, site_url).strip("\n")
    prose.clear()
    if text.strip():
        cells.append(v4.new_markdown_cell(text))


def _outdented_start(lines: list[str]) -> list[str]:
    """A cell's lines with its opening lines moved to the left margin. Prose that follows a code
    cell inside a list item or a box (a solution's last paragraph, say) starts a markdown cell of
    its own, where the list or box no longer exists: indented four spaces or more, Jupyter would
    show it as code. Only the lines up to the first one that is indented less are moved."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    lead = indents[0] if indents else 0
    out: list[str] = []
    for number, line in enumerate(lines):
        if line.strip() and len(line) - len(line.lstrip()) < lead:
            return out + lines[number:]
        out.append(line[lead:])
    return out


def _notebook_markdown(lines: list[str], page: str, site_url: str) -> str:
    """Material-only syntax turned into plain Markdown that Jupyter and Colab render."""
    out: list[str] = []
    block_indent: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and line.strip() and indent <= block_indent:
            block_indent = None
        title = BLOCK_TITLE_RE.match(line)
        if title:
            label = title["title"] or (title["kind"] or "").capitalize()
            out.append(f"{title['indent']}**{label}**" if label else "")
            block_indent = len(title["indent"])
            continue
        if block_indent is not None and line.startswith(" " * (block_indent + 4)):
            line = line[:block_indent] + line[block_indent + 4 :]
        line = PAGE_LINK_RE.sub(lambda match: f"]({_absolute(match, page, site_url)})", line)
        out.append(line)
    return checked_text_as_plain_text("\n".join(out))


def _absolute(match: re.Match, page: str, site_url: str) -> str:
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), match["target"]))
    return site_url + _page_url(target) + (match["anchor"] or "")


def _page_url(page: str) -> str:
    stem = page.removesuffix(".md")
    if stem == "index":
        return ""
    return stem.removesuffix("/index") + "/"

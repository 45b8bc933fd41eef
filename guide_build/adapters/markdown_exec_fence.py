"""The executed code block: markdown-exec renders it, the core runner runs the snippet file.

A page embeds a snippet as

    ```python exec="on" title="snippets/worked_examples/01_parameter_count.py"
    --8<-- "snippets/worked_examples/01_parameter_count.py"
    ```

pymdownx.snippets pastes the file in; this formatter runs the *file* named by `title` (so a
traceback names the snippet file and its real line numbers) and markdown-exec shows the code with
the printed output beneath it (`source="block"`, `result="text"` unless the fence says otherwise;
`gpu="recorded"` adds the output of the recorded CUDA run). A block that shows only a section of
the file (`file.py:name`) is shown as an excerpt, not run on its own, with a link to the whole
file; the page must also run the whole file (the hooks check that). Every problem is logged as a
warning naming the page and the block's line, and rendered in place of the block.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_exec import MarkdownConverter, base_format, code_block
from markupsafe import Markup

from guide_build.core import gpu_record
from guide_build.core.cache import cached_run
from guide_build.core.figures import figure_html
from guide_build.core.markers import SEARCH_EXCLUDE, block_id
from guide_build.core.notebooks import launch_command
from guide_build.core.page_source import SNIPPET_LINK_PREFIX, SNIPPETS_DIR, displayed_lines
from guide_build.core.runner import SnippetFailed, SnippetRun
from guide_build.core.snippet_options import options_of
from guide_build.core.witnesses import alt_text_heard

_log = logging.getLogger("mkdocs.hooks.guide_build")


@dataclass
class PageRecord:
    """What the formatter did on the page being built; the hooks read it when the page is done."""

    page: str = ""  # docs/<page>.md
    block_lines: dict[str, list[int]] = field(default_factory=dict)  # title -> lines of its blocks
    runs: dict[str, SnippetRun] = field(default_factory=dict)
    excerpts: set[str] = field(default_factory=set)
    failures: set[str] = field(default_factory=set)

    def where(self, title: str) -> str:
        """'page:line' of the next block with this title (blocks are formatted in page order)."""
        lines = self.block_lines.get(title) or [0]
        line = lines.pop(0) if len(lines) > 1 else lines[0]
        return f"{self.page}:{line}" if line else self.page


current_page = PageRecord()


def format_python(source: str, language: str, css_class: str, options: dict[str, Any], md, **kwargs: Any) -> str:
    """pymdownx.superfences `format` for ```python fences that markdown-exec's validator accepts."""
    title = options["extra"].get("title", "")
    where = current_page.where(title)
    path = Path(title)
    problem = _block_problem(path, source)
    if problem:
        return _log_and_render_error(f"{where}: {problem}", md)
    if _is_excerpt(source, path):
        return _render_excerpt(source, path, md)
    try:
        run = cached_run(path)
    except FileNotFoundError:  # deleted or renamed while the page was being built
        return _log_and_render_error(f"{where}: the snippet file {path} does not exist", md)
    except SnippetFailed as failure:
        current_page.failures.add(str(path))
        _log.warning(f"{where}: the example {path} failed:\n{failure.traceback_text}")
        return MarkdownConverter(md).convert(code_block("pytb", failure.traceback_text))
    except Exception as error:  # the runner or the cache, not the snippet (superfences would hide it)
        current_page.failures.add(str(path))
        return _log_and_render_error(f"{where}: {path} could not be run: {type(error).__name__}: {error}", md)
    current_page.runs[str(path)] = run
    extra = dict(options["extra"])
    show_gpu = extra.pop("gpu", "") == "recorded"
    alt = alt_text_heard(extra.pop("alt", "").strip())  # its claims are checked with the prose
    options = {**options, "extra": extra, "source": options["source"] or "block", "result": options["result"] or "text"}
    rendered = base_format(language=language, run=lambda *_, **__: run.output, code=source, md=md, **options)
    rendered = _outside_search(rendered)
    if show_gpu:
        rendered += _recorded_gpu_output(path, md)
    for name, svg in run.figures.items():
        if not alt:
            _log.warning(f'{where}: {path} draws {name}: give the block alt="what the figure shows and concludes"')
        rendered += Markup(figure_html(svg, alt, block_id(path.as_posix())))
    if alt and not run.figures:
        _log.warning(f"{where}: the block has alt text, but {path} declares no figure (# guide: figure=<name>.svg)")
    ranks = options_of(path).ranks
    if ranks:
        rendered = _launch_command(path, ranks) + rendered
    unsearched = f" {SEARCH_EXCLUDE}" if _is_exercise_solution(path) else ""
    return Markup(f'<div class="example" id="{block_id(path.as_posix())}"{unsearched}>') + rendered + Markup("</div>")


def _is_exercise_solution(path: Path) -> bool:
    """An exercise's solution stays out of the search index (its question and the prose around it
    do not): a search for an API should land on the chapter that explains it, and the index, which
    every visitor downloads, stays within its budget (docs/contributing.md, "Accessibility and
    page weight")."""
    return "_exercise_" in path.name


def _outside_search(rendered: str) -> Markup:
    """What a snippet printed stays out of the search index, which every visitor downloads: the
    code and the prose around it are what readers search for (printed output was a tenth of it)."""
    result = '<div class="result">'  # str, not Markup: Markup.replace would escape its arguments
    return Markup(str(rendered).replace(result, f'<div class="result" {SEARCH_EXCLUDE}>', 1))


def _launch_command(path: Path, ranks: int) -> Markup:
    """A distributed example runs as its readers run it: the command, above the code."""
    command = html.escape(launch_command(path.as_posix(), ranks))
    return Markup(
        f'<p class="launch-command">Run with <code>{command}</code>; '
        "each line of the output is marked with the rank that printed it.</p>"
    )


def _block_problem(path: Path, code: str) -> str | None:
    if path.suffix != ".py" or SNIPPETS_DIR not in path.parents:
        return f'an executed block needs title="snippets/<chapter>/<file>.py"; got "{path}"'
    if not path.is_file():
        return f"the snippet file {path} does not exist"
    if not _shows_code_from(code, path):
        return f"the block titled {path} shows code that is not in that file"
    return None


def _recorded_gpu_output(path: Path, md) -> Markup:
    """The output the recorded CUDA test run printed for this snippet, beside this build's output."""
    run = gpu_record.load()
    output = run.output_for(path.as_posix()) if run else None
    failure = run.failure_of(path.as_posix()) if run else None
    if failure is not None:
        note = f"This version of the snippet failed in the recorded CUDA test run ({run.summary}): `{failure}`."
        return MarkdownConverter(md).convert(f'!!! failure "Failed on a GPU"\n    {note}')
    if output is None:
        note = "No CUDA output is recorded for this version of the snippet yet. Run the tests on a GPU with `--record-gpu`."
        return MarkdownConverter(md).convert(f'!!! warning "Not yet run on a GPU"\n    {note}')
    block = code_block("text", output.rstrip("\n"))
    label = html.escape(f"Output on CUDA: {run.summary} (recorded by the GPU test run)")
    return (
        Markup(f'<div class="result gpu-result" data-label="{label}" {SEARCH_EXCLUDE}>')
        + MarkdownConverter(md).convert(block)
        + Markup("</div>")
    )


def _is_excerpt(code: str, path: Path) -> bool:
    return code.strip("\n").splitlines() != _strip_blank_ends(displayed_lines(path))


def _shows_code_from(code: str, path: Path) -> bool:
    shown = code.strip("\n").splitlines()
    lines = displayed_lines(path)
    return any(lines[start : start + len(shown)] == shown for start in range(len(lines) - len(shown) + 1))


def _strip_blank_ends(lines: list[str]) -> list[str]:
    return "\n".join(lines).strip("\n").splitlines()


def _render_excerpt(code: str, path: Path, md) -> str:
    """Show a section of a snippet file, not run on its own, with a link to the whole file."""
    current_page.excerpts.add(path.as_posix())
    block = code_block("python", code.strip("\n"), title=f"{path.as_posix()} (excerpt)")
    href = html.escape(SNIPPET_LINK_PREFIX + path.as_posix())
    note = (
        f'<p class="snippet-excerpt">Part of <a href="{href}"><code>{html.escape(path.as_posix())}</code></a>, '
        "which runs as a whole further down this page.</p>"
    )
    return MarkdownConverter(md).convert(block) + Markup(note)


def _log_and_render_error(message: str, md) -> str:
    _log.warning(message)
    return MarkdownConverter(md).convert(_error_block(message))


def _error_block(message: str) -> str:
    return code_block("text", message)

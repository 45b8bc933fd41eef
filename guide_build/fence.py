"""The executed code block: markdown-exec renders it, `cached_run` runs the snippet file.

A page embeds a snippet as

    ```python exec="on" title="snippets/worked_examples/01_parameter_count.py"
    --8<-- "snippets/worked_examples/01_parameter_count.py"
    ```

pymdownx.snippets pastes the file in; this formatter runs the *file* named by `title` (so a
traceback names the snippet file and its real line numbers) and markdown-exec shows the code with
the printed output beneath it (`source="block"`, `result="text"` unless the fence says otherwise;
`gpu="recorded"` adds the output of the recorded CUDA run). A block that shows only a section of the file (`file.py:name`)
is shown as an excerpt, not run on its own, with a link to the whole file; the page must also
run the whole file (the hooks check that).
"""

from __future__ import annotations

import functools
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_exec import ExecutionError, MarkdownConverter, base_format, code_block
from markupsafe import Markup

from guide_build import gpu_record
from guide_build.cache import cached_run
from guide_build.runner import SnippetFailed, SnippetRun

SNIPPETS_DIR = Path("snippets")
SECTION_MARKER = "--8<-- ["
SNIPPET_LINK_PREFIX = "snippet-file:"

_log = logging.getLogger("mkdocs.hooks.guide_build")


@dataclass
class PageRecord:
    """What the formatter did on the page being built; the hooks read it when the page is done."""

    runs: dict[str, SnippetRun] = field(default_factory=dict)
    excerpts: set[str] = field(default_factory=set)
    failures: set[str] = field(default_factory=set)


current_page = PageRecord()


def format_python(source: str, language: str, css_class: str, options: dict[str, Any], md, **kwargs: Any) -> str:
    """pymdownx.superfences `format` for ```python fences that markdown-exec's validator accepts."""
    path = Path(options["extra"].get("title", ""))
    if path.is_file() and _is_excerpt(source, path):
        return _render_excerpt(source, path, md)
    extra = dict(options["extra"])
    show_gpu = extra.pop("gpu", "") == "recorded"
    options = {**options, "extra": extra, "source": options["source"] or "block", "result": options["result"] or "text"}
    run = functools.partial(_run_file, path)
    rendered = base_format(language=language, run=run, code=source, md=md, **options)
    if show_gpu:
        rendered += _recorded_gpu_output(path, md)
    return rendered


def _recorded_gpu_output(path: Path, md) -> Markup:
    """The output the recorded CUDA test run printed for this snippet, beside this build's output."""
    run = gpu_record.load()
    output = run.output_for(path.as_posix()) if run else None
    if output is None:
        note = "No CUDA output is recorded for this version of the snippet yet. Run the tests on a GPU with `--record-gpu`."
        return MarkdownConverter(md).convert(f'!!! warning "Not yet run on a GPU"\n    {note}')
    block = code_block("text", output.rstrip("\n"))
    label = html.escape(f"Output on CUDA: {run.summary} (recorded by the GPU test run)")
    return (
        Markup(f'<div class="result gpu-result" data-label="{label}">')
        + MarkdownConverter(md).convert(block)
        + Markup("</div>")
    )


def _run_file(path: Path, code: str, **_: Any) -> str:
    if path.suffix != ".py" or SNIPPETS_DIR not in path.parents:
        raise ExecutionError(
            _error_block(f'An executed block needs title="snippets/<chapter>/<file>.py"; got "{path}".')
        )
    if not path.is_file():
        raise ExecutionError(_error_block(f"The snippet file {path} does not exist."))
    if not _shows_code_from(code, path):
        raise ExecutionError(_error_block(f"The block titled {path} shows code that is not in that file."))
    try:
        run = cached_run(path)
    except SnippetFailed as failure:
        current_page.failures.add(str(path))
        raise ExecutionError(code_block("pytb", failure.traceback_text)) from failure
    current_page.runs[str(path)] = run
    return run.output


def displayed_lines(path: Path) -> list[str]:
    """The file's lines as pymdownx.snippets shows them: section markers removed."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if SECTION_MARKER not in line]


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
    if not _shows_code_from(code, path):
        return _log_and_render_error(f"The block titled {path} shows code that is not in that file.", md)
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

"""The rendered notebook pages: each notebook's HTML, rendered once and cached by its bytes.

The markup is mkdocs-jupyter's (its template and code-cell highlighting, through nbconvert), with
one difference: mkdocs-jupyter puts about 600 KB of notebook CSS and scripts into every page,
and here they are written once, to `notebook.css` and `notebook.js`, which each page links. One
exporter renders every notebook, so its templates are compiled once per build, not once per page.
A rendering is stored under the hash of the notebook's bytes and of what renders it, and never
evicted by a build: a preview (`mkdocs serve`) right after a build of the same tree, or a build
after a preview, renders nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# nbconvert writes its command-line help when imported, and to list the formats in it, it creates
# every exporter it can find: about 0.6 s of CPU at the start of every build and preview, for a
# help text nothing here shows. This variable makes it list their names only.
os.environ.setdefault("NBCONVERT_DISABLE_CONFIG_EXPORTERS", "1")

import nbformat  # noqa: E402
from jupyterlab_pygments import JupyterStyle  # noqa: E402
from mkdocs_jupyter import convert  # noqa: E402  (importing it gives headings the lower-case ids of mkdocs-jupyter's pages)
from mkdocs_jupyter import nbconvert2 as mkdocs_jupyter_html  # noqa: E402
from mkdocs_jupyter.config import settings  # noqa: E402
from nbconvert.exporters.html import HTMLExporter  # noqa: E402
from nbconvert.exporters.templateexporter import TemplateExporter  # noqa: E402
from pygments.formatters import HtmlFormatter  # noqa: E402

ASSETS = Path(settings.templates_dir) / "mkdocs_html" / "assets"
STYLESHEET, SCRIPT = "notebook.css", "notebook.js"
ASSET_NAMES = (STYLESHEET, SCRIPT)
# mkdocs-jupyter's page template, less its header: the CSS and scripts it inlines into each page.
TEMPLATE = '{%- extends "mkdocs_html/notebook.html.j2" -%}{%- block header -%}{%- endblock header -%}'
COPY_NOTICE = """document.addEventListener("clipboard-copy", function (event) {
  const notice = event.target.querySelector(".notice");
  notice.hidden = false;
  setTimeout(function () { notice.hidden = true; }, 1000);
});
"""
UNUSED_FOR = 30 * 24 * 3600  # seconds after which an entry nobody read is deleted
FOCUSABLE_RE = re.compile(r'<div class="(jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)"')
HEADING_RE = re.compile(r'<h(?P<level>[1-6])[^>]*\bid="(?P<id>[^"]+)"[^>]*>(?P<html>.*?)</h(?P=level)>', re.S)

renders = 0  # renderings made by this process (the rest came from the cache): the tests read it


@dataclass
class NotebookPage:
    html: str  # the notebook's part of the page
    toc: list[dict]  # headings as nested {"level", "id", "name", "children"} (MkDocs' TOC tokens)
    title: str | None  # the first level-1 heading


def rendered(notebook: Path, cache_dir: Path) -> NotebookPage:
    """The page of `notebook`, from the cache when the same bytes were rendered before."""
    global renders
    data = notebook.read_bytes()
    entry = cache_dir / f"{hashlib.sha256(data + _renderer_fingerprint()).hexdigest()}.json"
    if entry.is_file():
        entry.touch()  # read recently: kept
        return NotebookPage(**json.loads(entry.read_text(encoding="utf-8")))
    page = render(nbformat.reads(data.decode("utf-8"), as_version=4))
    renders += 1
    cache_dir.mkdir(parents=True, exist_ok=True)
    _forget_unused(cache_dir)
    partial = entry.with_suffix(f".{os.getpid()}.part")  # a build running beside this one reads whole entries
    partial.write_text(json.dumps(asdict(page)), encoding="utf-8")
    partial.replace(entry)
    return page


def render(notebook: nbformat.NotebookNode) -> NotebookPage:
    mkdocs_jupyter_html.cell_id = 0  # its code cells number their copy buttons from 1 in each notebook
    html, _ = _exporter().from_notebook_node(notebook)
    html = FOCUSABLE_RE.sub(r'<div class="\1" tabindex="0"', html)  # keyboard users can scroll wide cells
    toc = _toc(html)
    title = next((heading["name"] for heading in toc if heading["level"] == 1), None)
    return NotebookPage(html=html, toc=toc, title=title)


def assets() -> dict[str, str]:
    """The files every notebook page links, by name: the styles and the copy buttons' script."""
    pygments = HtmlFormatter(style=JupyterStyle).get_style_defs(".highlight-ipynb")
    css = [pygments, *((ASSETS / name).read_text(encoding="utf-8") for name in ("index.css", "theme-light.css"))]
    return {STYLESHEET: "\n".join(css), SCRIPT: (ASSETS / "clipboard.umd.js").read_text(encoding="utf-8") + COPY_NOTICE}


def asset_links(stylesheet_url: str, script_url: str) -> str:
    """What a page puts before its notebook: links to the two files of `assets`."""
    return f'<link rel="stylesheet" href="{stylesheet_url}">\n<script src="{script_url}"></script>\n'


class _Exporter(HTMLExporter):
    """nbconvert's HTML exporter, less its last step, which parses the page it has just written
    (half of the rendering time) to give images an alt text and make input and output areas
    focusable. The notebooks made from the pages have no images (and no widgets, which that step
    also looks for); `render` makes the areas focusable."""

    def from_notebook_node(self, nb, resources=None, **kw):
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


@functools.cache
def _exporter() -> HTMLExporter:
    return _Exporter(
        raw_template=TEMPLATE,
        extra_template_paths=[settings.templates_dir],
        filters={"highlight_code": _highlight_each_cell_once(mkdocs_jupyter_html.mk_custom_highlight_code())},
        theme="light",
    )


def _highlight_each_cell_once(highlight_code: Callable[..., str]) -> Callable[..., str]:
    """mkdocs-jupyter's filter for code cells, remembering what it returned for each cell. After
    one snippet's edit, `mkdocs serve` renders that page's notebook again: highlighting the code
    cells that did not change was most of the time. What the filter returns depends on its
    arguments, on the number of the cell (mkdocs-jupyter counts them in a global) and on the
    notebook's language (another global), so all of them make the key."""
    remembered: dict[tuple, str] = {}

    def highlight_once(source: str, language: str | None = None, metadata: dict | None = None) -> str:
        number = mkdocs_jupyter_html.cell_id
        key = (source, language, json.dumps(metadata, sort_keys=True), number, mkdocs_jupyter_html.kernel_lang)
        if key not in remembered:
            if len(remembered) > 4096:
                remembered.clear()
            remembered[key] = highlight_code(source, language, metadata)
        mkdocs_jupyter_html.cell_id = number + 1
        return remembered[key]

    return highlight_once


def _toc(html: str) -> list[dict]:
    tokens: list[dict] = []
    open_tokens: list[dict] = []
    for match in HEADING_RE.finditer(html):
        name = re.sub(r"<[^>]+>", "", match["html"].rsplit('<a class="anchor-link"', 1)[0]).strip()  # as HTML
        token = {"level": int(match["level"]), "id": match["id"], "name": name, "children": []}
        while open_tokens and open_tokens[-1]["level"] >= token["level"]:
            open_tokens.pop()
        (open_tokens[-1]["children"] if open_tokens else tokens).append(token)
        open_tokens.append(token)
    return tokens


@functools.cache
def _renderer_fingerprint() -> bytes:
    """What else decides a page's HTML: this code and the versions of the packages that render it."""
    versions = [importlib.metadata.version(name) for name in ("nbconvert", "mkdocs-jupyter", "mistune", "pygments")]
    return Path(__file__).read_bytes() + Path(convert.__file__).read_bytes() + " ".join(versions).encode()


def _forget_unused(cache_dir: Path) -> None:
    cutoff = time.time() - UNUSED_FOR
    for entry in cache_dir.glob("*.json"):
        if entry.stat().st_mtime < cutoff:
            entry.unlink(missing_ok=True)

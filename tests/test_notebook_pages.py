"""The rendered notebook pages: light (their styles are one shared file), and rendered once.

A notebook page shows the text and code of its chapter, so it may weigh a little more than the
chapter page but not, as it did with mkdocs-jupyter's inlined styles, ten times as much. Its
rendering is cached by the notebook's bytes: a `mkdocs serve` started right after a build of the
same tree renders no notebook page again, and neither does the next build. Both are counted by
the line the build logs, not timed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import nbformat
import pytest
from conftest import CHAPTERS, ROOT, built_file, executed_snippets, notebook_of
from tiny_guide import TinyGuide

from guide_build.core import notebook_pages, notebooks

WEIGHT_OVER_ITS_CHAPTER = 1.25  # the notebook page's HTML, at most this times its chapter page's
NOTEBOOK_LOG_RE = re.compile(r"notebook pages: (\d+) rendered, (\d+) from the cache")


def notebook_page(site, page):
    return notebook_of(site, page).parent / "index.html"


@pytest.mark.parametrize("page", CHAPTERS)
def test_a_notebook_page_weighs_about_what_its_chapter_does(site, page):
    html = notebook_page(site, page).read_text(encoding="utf-8")
    outside_figures = re.sub(r"(?s)<svg.*?</svg>", "", html)  # a figure's own scoped style may stay
    assert "<style" not in outside_figures, "the notebook styles are a shared file, not inlined in every page"
    chapter = built_file(site, page).stat().st_size
    # It also saves the helpers that its examples import from another page (notebooks.py)
    helpers = sum(_shown_size(site, helper) for helper in notebooks.helpers_shown_elsewhere(_source(page)))
    assert len(html.encode()) <= WEIGHT_OVER_ITS_CHAPTER * (chapter + helpers)


def _source(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def _shown_size(site, helper) -> int:
    """The bytes of the code block that shows `helper` on the page that shows it."""
    page = next(page for page in CHAPTERS if helper.as_posix() in executed_snippets(page))
    html = built_file(site, page).read_text(encoding="utf-8")
    block = re.search(
        rf'<div class="highlight"><span class="filename">{re.escape(helper.as_posix())}</span>.*?</div>', html, re.S
    )
    return len(block[0].encode())


def test_notebook_pages_link_the_shared_styles_and_script(site):
    page = notebook_page(site, CHAPTERS[0])
    html = page.read_text(encoding="utf-8")
    for name in notebook_pages.ASSET_NAMES:
        link = re.search(rf'(?:href|src)="([^"]*{re.escape(name)})"', html)
        assert link and (page.parent / link[1]).resolve() == (site / "notebooks" / name).resolve()
    assert ".jupyter-wrapper" in (site / "notebooks" / notebook_pages.STYLESHEET).read_text(encoding="utf-8")
    assert "clipboard-copy" in (site / "notebooks" / notebook_pages.SCRIPT).read_text(encoding="utf-8")


def test_the_table_of_contents_links_the_headings_of_the_page(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A title\n\nText.\n\n## A `state_dict` & more"),
            nbformat.v4.new_code_cell("print(1)"),
            nbformat.v4.new_markdown_cell("### Deeper\n\n## Next"),
        ]
    )
    page = notebook_pages.render(notebook)
    assert page.title == "A title"
    [title] = page.toc
    assert [child["name"] for child in title["children"]] == ["A state_dict &amp; more", "Next"]
    assert [child["name"] for child in title["children"][0]["children"]] == ["Deeper"]
    headings = [title, title["children"][0], title["children"][0]["children"][0], title["children"][1]]
    assert re.findall(r'<h[1-6] id="([^"]+)"', page.html) == [heading["id"] for heading in headings]
    assert 'class="jp-Cell-inputWrapper" tabindex="0"' in page.html  # keyboard users can scroll a cell


def test_a_rendering_is_cached_by_the_notebook_bytes(tmp_path):
    source = tmp_path / "page.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# One")])
    source.write_text(nbformat.writes(notebook), encoding="utf-8")
    before = notebook_pages.renders
    first = notebook_pages.rendered(source, tmp_path / "cache")
    assert notebook_pages.rendered(source, tmp_path / "cache") == first
    assert notebook_pages.renders == before + 1
    notebook.cells[0].source = "# Two"
    source.write_text(nbformat.writes(notebook), encoding="utf-8")
    assert notebook_pages.rendered(source, tmp_path / "cache").title == "Two"
    assert notebook_pages.renders == before + 2


def test_code_cells_highlighted_before_render_as_mkdocs_jupyter_renders_them():
    """Highlighting is remembered per cell (a serve rebuild renders a whole notebook again after
    one cell changed): reused or not, a cell reads as mkdocs-jupyter writes it, numbered in its
    own notebook, and a changed cell is highlighted anew."""
    cells = ["import torch", "x = torch.ones(2)\nprint(x)", "import torch"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    mkdocs_jupyter = notebook_pages._Exporter(
        raw_template=notebook_pages.TEMPLATE,
        extra_template_paths=[notebook_pages.settings.templates_dir],
        filters={"highlight_code": notebook_pages.mkdocs_jupyter_html.mk_custom_highlight_code()},
        theme="light",
    )
    for version in range(2):
        notebook.cells[1].source = f"x = torch.ones({2 + version})\nprint(x)"
        rendered = notebook_pages.render(notebook).html
        assert rendered == notebook_pages.render(notebook).html
        notebook_pages.mkdocs_jupyter_html.cell_id = 0
        expected, _ = mkdocs_jupyter.from_notebook_node(notebook)
        assert notebook_pages.FOCUSABLE_RE.sub(r'<div class="\1" tabindex="0"', expected) == rendered
        assert re.findall(r'id="cell-(\d+)"', rendered) == ["1", "2", "3"]
        assert (
            f'torch</span><span class="o">.</span><span class="n">ones</span><span class="p">(</span><span class="mi">{2 + version}'
            in rendered
        )


def notebook_counts(log: str) -> list[tuple[int, int]]:
    return [(int(rendered), int(cached)) for rendered, cached in NOTEBOOK_LOG_RE.findall(log)]


def test_serve_right_after_a_build_renders_no_notebook_page(tmp_path):
    guide = TinyGuide(tmp_path / "guide")
    env = {"GUIDE_NOTEBOOK_CACHE_DIR": str(tmp_path / "notebook-pages")}
    built = guide.build(tmp_path / "site", env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    assert notebook_counts(built.stderr) == [(2, 0)]

    command = [sys.executable, "-m", "mkdocs", "serve", "--livereload", "--dirty", "--no-strict"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        command += ["--dev-addr", f"127.0.0.1:{probe.getsockname()[1]}"]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **guide.own_caches(env)}
    server = subprocess.Popen(
        command, cwd=guide.root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log = []
    try:
        for line in server.stdout:
            log.append(line)
            if "Serving on" in line or "Traceback" in line or "Aborted" in line:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert notebook_counts("".join(log)) == [(0, 2)], "".join(log)[-3000:]

    rebuilt = guide.build(tmp_path / "site", env=env)  # the preview evicted nothing
    assert notebook_counts(rebuilt.stderr) == [(0, 2)]

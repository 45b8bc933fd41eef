"""MkDocs hooks (mkdocs.yml `hooks:`): publish snippets and notebooks, check claims, stamp pages.

`on_files` starts the runs that are not in the cache (each page waits only for the runs it
shows), publishes every snippet file beside the pages and writes one notebook per page that runs
snippets: at once, or just before its page is built when its runs are still going (mkdocs-jupyter
makes it a page, guide_build.core.notebook_pages renders it).
Per page, `on_page_markdown` finds the claims in the page source; markdown-exec then runs the page's snippets through guide_build.adapters.markdown_exec_fence, which records
them in `fence.current_page`; `on_page_content` checks each claim against those runs, adds the
notebook links and the "verified" stamp. Any problem is logged as a warning, which
`mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import jinja2
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url
from mkdocs.utils.yaml import yaml_load

from guide_build.adapters import markdown_exec_fence as fence
from guide_build.core import gpu_record, inventory, notebook_pages, notebooks, releases, runner, stamp
from guide_build.core.cache import (
    cached_key,
    cached_run,
    cancel_runs,
    device_description,
    source_files,
    start_runs,
    torch_version,
    wait_for_run,
)
from guide_build.core.claims import Claim, claim_error, find_claims, not_checked_here
from guide_build.core.code_markup import unwrap_plain_names, witness_labels_outside_search
from guide_build.core.markers import render_markers
from guide_build.core.page_source import (
    INCLUDE_RE,
    SNIPPET_LINK_PREFIX,
    SNIPPETS_DIR,
    executed_blocks,
    include_problems,
    whole_file_includes,
)
from guide_build.core.runner import SnippetFailed, SnippetRun
from guide_build.core.witnesses import (
    Witness,
    expected_on,
    find_witnesses,
    skipped_here,
    unreached_error,
    unread_markup,
    witness_error,
)

log = logging.getLogger("mkdocs.hooks.guide_build")

NOTEBOOK_SOURCE_DIR = Path(".cache") / "notebooks"
NOTEBOOK_CACHE_ENV = "GUIDE_NOTEBOOK_CACHE_DIR"  # rendered notebook pages; default .cache/notebook-pages
_page_claims: dict[str, list[Claim]] = {}
_page_witnesses: dict[str, list[Witness]] = {}
_pages_with_notebooks: set[str] = set()
_notebook_pages = {"rendered": 0, "cached": 0}  # this build's
_SNIPPET_LINK_RE = re.compile(r'href="' + re.escape(SNIPPET_LINK_PREFIX) + r'([^"]+)"')
_build = {"dirty": False}  # `--dirty`: MkDocs skips a page whose source is older than its built file


def on_shutdown(**_):
    cancel_runs()


def on_config(config, **_):
    # `mkdocs build --quiet` raises the level of MkDocs' logger, and the strict check counts only
    # what gets through it (mkdocs/mkdocs#4126): a wrong claim would pass `--strict --quiet`. In a
    # strict build this logger's problems get through, and so fail it, whatever the verbosity.
    quietened = logging.getLogger("mkdocs").getEffectiveLevel() > logging.WARNING
    log.setLevel(logging.WARNING if config.strict and quietened else logging.NOTSET)
    if problem := releases.newer_than_pinned():
        log.warning(problem)
    return config


def on_startup(command, dirty=False, **_):
    """`mkdocs serve` starts the snippet server at once, so that the first edit does not wait for
    it to import torch; a build starts it only if a snippet is not in the cache."""
    _build["dirty"] = dirty
    runner.build_on_cpu()
    if command == "serve":
        runner.prestart()


@event_priority(50)  # before mkdocs-jupyter, which turns the generated notebooks into pages
def on_files(files: Files, config, **_) -> Files:
    running = _start_every_example(files)
    for path in sorted(SNIPPETS_DIR.rglob("*.py")):
        files.append(File(path.as_posix(), src_dir=".", dest_dir=config["site_dir"], use_directory_urls=False))
    _refuse_hand_written_notebooks(files)
    _notebooks_to_make.clear()
    for page in files.documentation_pages():
        examples = [snippet for snippet in _examples_of(page) if Path(snippet).is_file()]
        if page.src_uri.endswith(".md") and "/" in page.src_uri and examples:  # chapters that run code
            _publish_notebook(page, files, config, waits=bool(running & set(examples)))
    for name, text in notebook_pages.assets().items():  # the styles and script every notebook page links
        files.append(File.generated(config, f"notebooks/{name}", content=text))
    _notebook_pages.update(rendered=0, cached=0)
    for page in files.documentation_pages():
        _forget_if_snippets_changed(page, config)
    return files


def _start_every_example(files: Files) -> set[str]:
    """Start the runs of the examples the pages include that are not in the cache, several at a
    time; the pages and notebooks wait for those they show. Returns the snippets started. A
    failure is reported where a page shows the example."""
    snippets: dict[str, None] = {}  # in the order the build renders the pages that show them
    for page in files.documentation_pages():
        if page.src_uri.endswith(".md"):
            snippets.update(dict.fromkeys(snippet for snippet in _examples_of(page) if Path(snippet).is_file()))
    return set(start_runs(list(snippets)))


def _examples_of(page: File) -> list[str]:
    return whole_file_includes(Path(page.abs_src_path).read_text(encoding="utf-8"))


def _refuse_hand_written_notebooks(files: Files) -> None:
    """Notebooks are generated from the pages; one kept in docs/ would go stale, and mkdocs-jupyter
    (which does not execute them here) would publish it without running it."""
    for file in files:
        if file.src_uri.endswith(".ipynb"):
            log.warning(f"docs/{file.src_uri}: notebooks are generated from the pages; remove this one")


def _forget_if_snippets_changed(page: File, config) -> None:
    """`mkdocs serve --dirty` rebuilds only pages whose source is newer than their built file, and
    a page's source includes its snippets: drop the built file of a page whose snippets (or the
    GPU record its stamp reads) changed since, or whose inventory table would now read otherwise,
    so that it is rebuilt. A clean build has no built files yet, so there this does nothing."""
    built = Path(page.abs_dest_path)
    if not page.src_uri.endswith(".md") or not built.is_file():
        return
    sources = [gpu_record.RECORD_PATH] if gpu_record.RECORD_PATH.is_file() else []
    markdown = Path(page.abs_src_path).read_text(encoding="utf-8")
    if inventory.MARKER in markdown and inventory.shown.get(page.src_uri) != _inventory_table(config):
        built.unlink()
        return
    for line in markdown.split("\n"):
        include = INCLUDE_RE.match(line)
        snippet = Path(include["target"].partition(":")[0]) if include else None
        if snippet and snippet.is_file():
            sources += source_files(snippet)
    if any(source.stat().st_mtime > built.stat().st_mtime for source in sources):
        built.unlink()


def on_env(env, config, files, **_):
    """Keep compiled theme templates on disk: each rebuild of `mkdocs serve` makes a new template
    environment, and compiling Material's templates again is a large part of a small rebuild."""
    env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(_cache_folder("jinja")))
    return env


def _inventory_table(config) -> str:
    return inventory.inventory_table(config["nav"], Path(config["docs_dir"]))


def _cache_folder(name: str) -> Path:
    folder = Path(".cache") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def on_page_markdown(markdown: str, page, config, **_) -> str:
    if not page.file.src_uri.endswith(".md"):
        return markdown  # a generated notebook: its page was checked
    source = f"docs/{page.file.src_uri}"
    markdown = _without_broken_includes(markdown, source)
    block_lines: dict[str, list[int]] = {}
    for block in executed_blocks(markdown):
        block_lines.setdefault(block.title, []).append(block.line)
    fence.current_page = fence.PageRecord(page=source, block_lines=block_lines)
    _page_claims[page.file.src_uri] = find_claims(markdown, source)
    _page_witnesses[page.file.src_uri] = find_witnesses(markdown, source)
    for problem in unread_markup(markdown, source):
        log.warning(problem)
    if inventory.MARKER in markdown:
        table = inventory.shown[page.file.src_uri] = _inventory_table(config)
        markdown = markdown.replace(inventory.MARKER, table)
    return markdown


def _without_broken_includes(markdown: str, page: str) -> str:
    """Report each include that cannot be pasted (a missing file or section) with its page and
    line, and leave a note in its place, so that the build goes on and reports every problem."""
    problems = include_problems(markdown, page)
    for problem in problems:
        log.warning(problem)
    if not problems:
        return markdown
    broken_lines = {int(problem.split(":")[1]) for problem in problems}
    lines = markdown.split("\n")
    for number in broken_lines:
        if INCLUDE_RE.match(lines[number - 1]):
            lines[number - 1] = lines[number - 1].replace("--8<--", "# (not included: see the build log)")
    return "\n".join(lines)


def on_page_content(html: str, page, config, **_) -> str:
    record = fence.current_page
    runs = record.runs
    for claim in _page_claims.pop(page.file.src_uri, []):
        if claim.snippet_path in record.failures:
            continue  # the snippet's own traceback has been reported
        run = runs.get(claim.snippet_path)
        if run is None:
            log.warning(
                f"{claim.where}: the claim {claim.text!r} refers to {claim.snippet_path}, which this page does not run"
            )
            continue
        error = claim_error(claim, run.facts)
        if error:
            log.warning(error)
        elif reason := not_checked_here(claim):
            log.info(reason)
    for witness in _page_witnesses.pop(page.file.src_uri, []):
        error = witness_error(witness)
        if error is None and witness.snippet_path not in runs and witness.snippet_path not in record.failures:
            error = f"{witness.where}: the statement {witness.text!r} cites {witness.snippet_path}, which this page does not run"
        elif error is None and witness.snippet_path in runs:
            error = unreached_error(witness, runs[witness.snippet_path])
            if error is None and (reason := skipped_here(witness, runs[witness.snippet_path])):
                log.info(reason)
        if error is None and witness.on_gpu:
            held = gpu_record.witnesses_held(witness.snippet_path)  # None: no record of this version
            if (
                held is not None
                and witness.label not in held
                and expected_on(witness, releases.release_of(gpu_record.load().torch))
            ):
                error = f"{witness.where}: the GPU test run recorded that the assertion {witness.label!r} of {witness.snippet_path} did not run on CUDA"
        if error:
            log.warning(error)
    for excerpt in sorted(record.excerpts - set(runs) - record.failures):
        log.warning(f"docs/{page.file.src_uri}: shows an excerpt of {excerpt} but never runs the whole file")
    html = witness_labels_outside_search(unwrap_plain_names(html))
    html = render_markers(html, config["repo_url"], {path: run.facts for path, run in runs.items()})
    html = _SNIPPET_LINK_RE.sub(lambda match: f'href="{get_relative_url(match[1], page.url)}"', html)
    if page.file.src_uri in _pages_with_notebooks:
        html = _notebook_links(page, config) + html
    if runs:
        html += stamp.render(list(runs.values()), gpu_record.load())
    return html


@event_priority(50)  # before Material's search plugin reads the page
def on_page_context(context, page, **_):
    """Keep notebook versions out of the search index: search should find the chapter itself."""
    if page.file.src_uri.startswith("notebooks/"):
        page.meta["search"] = {"exclude": True}
    return context


# The digest of what each page's notebook was made from, as this process last made it: a rebuild
# of `mkdocs serve` makes again only the notebooks whose page, shown files or runs changed (making
# all of them was a third of a rebuild that executes nothing).
_notebooks_made: dict[str, str] = {}
# Notebooks of pages with runs still going on, by the notebook's path: each is made just before its
# own page is built (`on_pre_page`), so the pages render meanwhile.
_notebooks_to_make: dict[str, File] = {}


def _publish_notebook(page: File, files: Files, config, waits: bool) -> None:
    notebook = _notebook_path(page.src_uri)
    source = NOTEBOOK_SOURCE_DIR / notebook
    if waits and (source.is_file() or not _build["dirty"]):
        _notebooks_to_make[notebook] = page
        if source.is_file():
            os.utime(source)  # newer than its built page: a --dirty build builds it again
    else:
        _make_notebook(page, config)
    _pages_with_notebooks.add(page.src_uri)
    files.append(
        File(
            notebook,
            src_dir=str(NOTEBOOK_SOURCE_DIR),
            dest_dir=config["site_dir"],
            use_directory_urls=config["use_directory_urls"],
        )
    )


def _make_notebook(page: File, config) -> None:
    """Write the page's notebook, unless this process made it from the same inputs already."""
    markdown = Path(page.abs_src_path).read_text(encoding="utf-8")
    site_url = _published_site_url(config)
    environment = f"torch {torch_version()} on {device_description()}"
    path = NOTEBOOK_SOURCE_DIR / _notebook_path(page.src_uri)
    for snippet in whole_file_includes(markdown):  # the runs still going first: a digest reads their keys
        wait_for_run(snippet)
    made_from = notebooks.inputs_digest(markdown, site_url, environment, cached_key)
    if _notebooks_made.get(page.src_uri) == made_from and path.is_file():
        return
    notebook = notebooks.notebook_for_page(markdown, page.src_uri, site_url, _run_of, environment)
    notebooks.write_if_changed(notebook, path)
    _notebooks_made[page.src_uri] = made_from


def _published_site_url(config) -> str:
    """The site_url of mkdocs.yml. `mkdocs serve` points config["site_url"] at itself, but a
    notebook links the published site in a preview too: so a preview writes the very notebooks a
    build wrote, and finds their pages rendered."""
    if not config.config_file_path:
        return config["site_url"]
    path = Path(config.config_file_path)
    return _site_url_in(path, path.stat().st_mtime_ns) or config["site_url"]


@functools.lru_cache(maxsize=4)
def _site_url_in(config_file: Path, _modified: int) -> str | None:
    """Read once per version of mkdocs.yml, not once per notebook of every rebuild."""
    with config_file.open("rb") as file:
        return yaml_load(file).get("site_url")


@event_priority(-50)  # after mkdocs-jupyter, which makes each notebook a page with a renderer of its own
def on_pre_page(page, config, files, **_):
    if page.file.src_uri.startswith("notebooks/") and page.file.src_uri.endswith(".ipynb"):
        if page.file.src_uri in _notebooks_to_make:  # its runs were going on when the build started
            _make_notebook(_notebooks_to_make.pop(page.file.src_uri), config)
        page.render = lambda config, files: _render_notebook_page(page)
    return page


def _render_notebook_page(page) -> None:
    """Render a notebook's page (or read it from the cache), linking the styles it shares."""
    before = notebook_pages.renders
    cache_dir = Path(os.environ.get(NOTEBOOK_CACHE_ENV) or _cache_folder("notebook-pages"))
    rendered = notebook_pages.rendered(Path(page.file.abs_src_path), cache_dir)
    _notebook_pages["rendered" if notebook_pages.renders > before else "cached"] += 1
    css, js = (get_relative_url(f"notebooks/{name}", page.url) for name in notebook_pages.ASSET_NAMES)
    page.content = notebook_pages.asset_links(css, js) + rendered.html
    page.toc = get_toc(rendered.toc)
    page.title = rendered.title or page.title


def on_post_build(config, **_):
    log.info(f"notebook pages: {_notebook_pages['rendered']} rendered, {_notebook_pages['cached']} from the cache")


def _run_of(snippet: str) -> SnippetRun | None:
    try:
        return cached_run(snippet)
    except (SnippetFailed, FileNotFoundError):
        return None  # the page's own build reports the failure


def _notebook_path(page_src_uri: str) -> str:
    return "notebooks/" + page_src_uri.removesuffix(".md") + ".ipynb"


def _notebook_links(page, config) -> str:
    notebook = _notebook_path(page.file.src_uri)
    stem = Path(notebook).stem
    rendered = notebook.removesuffix(".ipynb") + "/"
    download = rendered + f"{stem}.ipynb"
    owner_repo = urlparse(config["repo_url"]).path.strip("/")
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/gh-pages/{download}"
    links = [
        f'<a class="md-button" href="{colab}" rel="noopener">Open in Colab</a>',
        f'<a class="md-button" href="{get_relative_url(download, page.url)}" download>Download notebook</a>',
        f'<a class="md-button" href="{get_relative_url(rendered, page.url)}">View as notebook</a>',
    ]
    return f'<p class="notebook-links">{" ".join(links)}</p>\n'

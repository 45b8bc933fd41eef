"""MkDocs hooks (mkdocs.yml `hooks:`): publish snippet files, check claims, stamp each page.

Per page: `on_page_markdown` finds the claims in the page source and forgets the previous page's
runs; markdown-exec then runs the page's snippets through guide_build.fence, which records them
in `fence.current_page`; `on_page_content` checks each claim against those runs, turns excerpt links into
page-relative URLs and adds the "verified" stamp. Any problem is logged as a warning, which
`mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import logging
import re

from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from guide_build import stamp
from guide_build.claims import Claim, claim_error, find_claims
from guide_build import fence
from guide_build.fence import SNIPPET_LINK_PREFIX, SNIPPETS_DIR

log = logging.getLogger("mkdocs.hooks.guide_build")

_page_claims: dict[str, list[Claim]] = {}
_SNIPPET_LINK_RE = re.compile(r'href="' + re.escape(SNIPPET_LINK_PREFIX) + r'([^"]+)"')


def on_files(files: Files, config, **_) -> Files:
    """Publish every snippet file beside the pages, so a page can link the whole file."""
    for path in sorted(SNIPPETS_DIR.rglob("*.py")):
        files.append(File(path.as_posix(), src_dir=".", dest_dir=config["site_dir"], use_directory_urls=False))
    return files


def on_page_markdown(markdown: str, page, **_) -> str:
    fence.current_page = fence.PageRecord()
    _page_claims[page.file.src_uri] = find_claims(markdown, f"docs/{page.file.src_uri}")
    return markdown


def on_page_content(html: str, page, **_) -> str:
    record = fence.current_page
    runs = record.runs
    for claim in _page_claims.pop(page.file.src_uri, []):
        run = runs.get(claim.snippet_path)
        if claim.snippet_path in record.failures:
            continue  # the snippet's own traceback has been reported
        if run is None:
            log.warning(f"{claim.where}: the claim {claim.text!r} refers to {claim.snippet_path}, which this page does not run")
            continue
        error = claim_error(claim, run.facts)
        if error:
            log.warning(error)
    for excerpt in sorted(record.excerpts - set(runs) - record.failures):
        log.warning(f"docs/{page.file.src_uri}: shows an excerpt of {excerpt} but never runs the whole file")
    html = _SNIPPET_LINK_RE.sub(lambda match: f'href="{get_relative_url(match[1], page.url)}"', html)
    if runs:
        html += stamp.render(runs.values())
    return html

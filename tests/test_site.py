"""The built site: strict build passes, every block shows its real output, nothing is left out."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from conftest import PAGES, SNIPPETS, built_page, executed_snippets

from guide_build.cache import cached_run


@pytest.mark.parametrize("page", PAGES)
def test_every_executed_block_shows_what_its_snippet_printed(site, page):
    article = built_page(site, page).find("article")
    text = article.get_text()
    for snippet in executed_snippets(page):
        output = cached_run(snippet).output  # the run the build used
        assert output.strip() in text, f"{page}: the output of {snippet} is not on the page"


@pytest.mark.parametrize("page", [page for page in PAGES if executed_snippets(page)])
def test_pages_with_examples_carry_the_verified_stamp(site, page):
    stamp = built_page(site, page).find(class_="verified-stamp")
    assert stamp is not None and "torch" in stamp.get_text()


def test_every_snippet_file_is_shown_whole_on_some_page():
    shown = {snippet for page in PAGES for snippet in executed_snippets(page)}
    assert sorted(set(SNIPPETS) - shown) == []


def test_snippet_files_are_published_for_download(site):
    missing = [snippet for snippet in SNIPPETS if not (site / snippet).is_file()]
    assert missing == []


def test_no_page_shows_a_traceback(site):
    pages = [p for p in site.rglob("*.html") if "Traceback (most recent call last)" in p.read_text(encoding="utf-8")]
    assert pages == []


def test_site_loads_nothing_from_other_hosts(site):
    """The site works offline: scripts, styles, fonts and images all come from the site itself."""
    external = set()
    for html_file in site.rglob("*.html"):
        soup = BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser")
        for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
            for element in soup.find_all(tag):
                url = element.get(attribute) or ""
                is_stylesheet_or_asset = tag != "link" or {"stylesheet", "preload", "icon"} & set(
                    element.get("rel", [])
                )
                if is_stylesheet_or_asset and re.match(r"^(https?:)?//", url):
                    external.add(url)
    for css in site.rglob("*.css"):
        external.update(re.findall(r"url\((?:['\"])?((?:https?:)?//[^)'\"]+)", css.read_text(encoding="utf-8")))
    assert external == set()


def test_site_has_a_not_found_page(site):
    not_found = BeautifulSoup((site / "404.html").read_text(encoding="utf-8"), "html.parser")
    assert "404" in not_found.get_text()


def test_every_page_links_to_its_source_for_editing(site):
    for page in PAGES:
        edit = built_page(site, page).find("a", attrs={"title": "Edit this page"})
        assert edit is not None and edit["href"].endswith(page.removeprefix("docs/")), page

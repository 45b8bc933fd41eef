"""What the browser tests share: Debian's Chromium driven by Playwright, the session's strict build
served on localhost, and pages that fail a test when a request leaves localhost or the console
shows an error. Each test module wraps these in its own (module-scoped) fixtures."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the networking flags Chromium keeps calling Google's services, which this machine refuses.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_site(site: Path):
    """The built site over HTTP on 127.0.0.1, at the URL this yields."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def launch_chromium():
    """Debian's Chromium (no test tool downloads a browser of its own)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail("Debian's chromium is not installed; `make test` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def guarded_page(context):
    """A page that blocks and records any request off localhost, and records console errors.
    (Routing every request also keeps the browser's cache out: each visit fetches what it uses.)"""
    page = context.new_page()
    page.offsite_requests = []
    page.console_errors = []

    def guard(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.offsite_requests.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


def with_an_empty_search_index(page, site: Path) -> None:
    """Give the page's search an index of no documents. Material's search worker otherwise fetches
    the index of the whole site, every page's text, and builds it on each page load: about half a
    second of Chromium's time per visit, for a test that never searches."""
    config = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["config"]
    empty = json.dumps({"config": config, "docs": []})
    page.route("**/search/search_index.json", lambda route: route.fulfill(body=empty, content_type="application/json"))


# True once Material's search results have not changed for `quiet_ms`; false if they still change
# after `limit_ms`. Typed key by key, each key sends a query, and the worker's answers to earlier
# prefixes can arrive after the first results show, replacing the list (and what has focus in it).
RESULTS_SETTLE = """([quietMs, limitMs]) => new Promise(resolve => {
    let quiet = setTimeout(() => resolve(true), quietMs);
    new MutationObserver(() => { clearTimeout(quiet); quiet = setTimeout(() => resolve(true), quietMs); })
        .observe(document.querySelector('.md-search-result'), {childList: true, subtree: true, characterData: true});
    setTimeout(() => resolve(false), limitMs);
})"""


def wait_for_search_results_to_settle(page, quiet_ms: int = 500, limit_ms: int = 30_000) -> None:
    assert page.evaluate(RESULTS_SETTLE, [quiet_ms, limit_ms]), f"the search results still changed after {limit_ms} ms"


def assert_stayed_local_and_quiet(page) -> None:
    page.evaluate("0")  # a round trip: Playwright hands over the events the page sent until now
    assert page.offsite_requests == [], "requests left localhost"
    assert page.console_errors == [], "console errors"


@contextlib.contextmanager
def checked_page(browser, **context_options):
    """A guarded page in a context of its own; on leaving, it must have stayed local and quiet."""
    context = browser.new_context(**context_options)
    page = guarded_page(context)
    try:
        yield page
        assert_stayed_local_and_quiet(page)
    finally:
        context.close()


def nav_links(page, base_url) -> list[str]:
    hrefs = page.eval_on_selector_all("nav.md-nav--primary a.md-nav__link[href]", "links => links.map(a => a.href)")
    return sorted({href.split("#")[0] for href in hrefs if href.startswith(base_url)})

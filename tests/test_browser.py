"""The built site in a real browser: Debian's Chromium, driven by Playwright, on localhost only.

The site is served from the session's strict build. Every request is checked: one that would leave
localhost is blocked and fails the test, as does any console error. Screenshots of two pages are
saved in test-artifacts/ (CI keeps them). The tests share one browser tab per set of options (screen
size, palette, touch), each test going to the page it needs: a new tab costs Chromium a renderer
process and Material's scripts compiled again, half a second of CPU per visit. Only the search
test's tab builds the real search index; the others are given an empty one (browser_support.py).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

import nbformat
import pytest
from browser_support import (
    ARTIFACTS,
    assert_stayed_local_and_quiet,
    guarded_page,
    launch_chromium,
    serve_site,
    with_an_empty_search_index,
)
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def base_url(site):
    with serve_site(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as browser:
        yield browser


OPTIONS = {
    "default": {},
    "search": {},  # the one tab with the real search index
    "desktop-light": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "light"},
    "desktop-dark": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light", "has_touch": True},
}


# Run before each page's own scripts: a page starts from empty storage, as in a fresh context
# (Material keeps the palette it chose in localStorage, and would no longer read the system's).
FORGET_STORAGE = "try { localStorage.clear(); sessionStorage.clear(); } catch (error) {}"


@pytest.fixture(scope="module")
def tab(browser, site):
    """`tab(name)`: the module's guarded tab with the options `OPTIONS[name]`, its record of
    off-site requests and console errors emptied for the caller (a new tab if the last one was
    closed or its renderer crashed)."""
    tabs = {}

    def get(name: str):
        if name not in tabs or tabs[name].is_closed() or tabs[name].crashed:
            context = browser.new_context(**OPTIONS[name])
            context.add_init_script(FORGET_STORAGE)
            page = tabs[name] = guarded_page(context)
            if name != "search":
                with_an_empty_search_index(page, site)
            page.crashed = False
            page.on("crash", lambda crashed: setattr(crashed, "crashed", True))
        page = tabs[name]
        page.offsite_requests.clear()
        page.console_errors.clear()
        return page

    yield get
    for page in tabs.values():
        if not page.is_closed():
            page.context.close()


@pytest.fixture
def page(tab):
    page = tab("default")
    yield page
    assert_stayed_local_and_quiet(page)


def test_home_page_renders(page, base_url):
    page.goto(base_url)
    assert page.inner_text("article h1").rstrip("¶") == "PyTorch Builders Guide"
    assert page.locator("article .result").count() >= 1  # the environment example and its output
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)


def test_search_finds_the_saving_chapter_by_api_name(tab, base_url):
    page = tab("search")
    # A link with ?q= opens the search with that query, as Material's shared search links do. It
    # sends one query once the index is ready; typing key by key sends one per key, and a slow
    # worker can still be showing the results for "sta" when the list is read.
    page.goto(base_url + "?q=state_dict")
    expect(page.locator(".md-search-result__meta")).to_have_text(
        re.compile(r"^\d+ matching documents?$"), timeout=60_000
    )
    expect(page.locator("input.md-search__input")).to_have_value("state_dict")
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=30_000)
    titles = " | ".join(results.all_inner_texts())
    assert "Saving and loading" in titles
    assert_stayed_local_and_quiet(page)


def test_code_blocks_have_copy_buttons_and_outputs_do_not(page, base_url):
    page.goto(base_url + "worked-examples/parameter-count/")
    copy = "[data-md-type='copy']"  # Material's copy button, added to each code block by its script
    page.wait_for_selector(f"article .highlight {copy}", state="attached")
    code_block = page.locator("article .highlight").first
    assert code_block.locator(copy).count() == 1
    assert code_block.locator(copy).is_visible()
    output = page.locator("article .result").first
    assert output.is_visible()
    assert output.locator(copy).count() <= 1 and not output.locator(copy).first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "parameter-count.png"), full_page=True)


def test_notebook_download_link_returns_a_valid_notebook(page, base_url):
    page.goto(base_url + "saving-and-devices/saving-and-loading/")
    link = page.locator(".notebook-links a[download]")
    assert link.count() == 1
    response = page.request.get(urljoin(page.url, link.get_attribute("href")))
    assert response.ok
    notebook = nbformat.reads(json.dumps(response.json()), as_version=4)
    nbformat.validate(notebook)
    assert any(cell.cell_type == "code" and "torch.save" in cell.source for cell in notebook.cells)


def test_check_marks_open_their_note_from_the_keyboard(page, base_url):
    """A checked value reads as plain prose; its check mark is a button a keyboard reaches, and
    its note names the snippet line that checked it, with a link to the example on the page."""
    page.goto(base_url + "worked-examples/parameter-count/")
    claim = page.locator(".checked-claim").first
    assert claim.inner_text().rstrip("✓").strip() == "80"
    assert claim.locator("strong").count() == 0  # plain text, no bold test-log look
    mark = claim.locator("button.check-mark")
    note = page.locator("#" + mark.get_attribute("popovertarget"))
    assert not note.is_visible()
    mark.focus()
    assert page.evaluate("document.activeElement.classList.contains('check-mark')")
    page.keyboard.press("Enter")
    expect(note).to_be_visible()
    assert "snippets/worked_examples/01_parameter_count.py" in note.inner_text()
    target = note.locator("a").first.get_attribute("href").partition("#")[2]
    assert page.locator(f"[id='{target}']").count() == 1  # the example on this page
    page.keyboard.press("Escape")
    expect(note).to_be_hidden()


def test_witnessed_statement_marks_in_light_dark_and_on_a_phone(tab, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("desktop-light", "desktop-dark", "phone"):
        options = OPTIONS[name]
        page = tab(name)
        page.goto(base_url + "modules/containers/")
        statement = page.locator(".checked-witness").first
        statement.scroll_into_view_if_needed()
        mark = statement.locator("button.check-mark")
        box = mark.bounding_box()
        assert box["width"] >= 10 and box["height"] >= 10, "the check mark is too small to tap"
        if options.get("has_touch"):
            mark.tap()
        else:
            mark.click()
        note = page.locator("#" + mark.get_attribute("popovertarget"))
        expect(note).to_be_visible()
        note_box = note.bounding_box()
        assert note_box["x"] >= 0 and note_box["x"] + note_box["width"] <= options["viewport"]["width"]
        assert "asserted by" in note.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"markers-{name}.png"))
        assert_stayed_local_and_quiet(page)


FIGURES = {  # three of the figures drawn by their snippets, by page
    "tied-graph": "worked-examples/tied-weight/",
    "signal-through-depth": "layers/initialization/",
    "dropout-and-batchnorm": "saving-and-devices/modes/",
}


@pytest.mark.parametrize("name", FIGURES)
def test_a_figure_follows_the_palette_and_is_named_for_a_screen_reader(tab, base_url, name):
    """Screenshots test-artifacts/figure-<name>-light.png and -dark.png: the same drawing, its lines
    and text in each palette's text colour."""
    ARTIFACTS.mkdir(exist_ok=True)
    text_colours = {}
    for palette in ("light", "dark"):
        page = tab(f"desktop-{palette}")
        page.goto(base_url + FIGURES[name])
        assert page.get_attribute("body", "data-md-color-scheme") == {"light": "default", "dark": "slate"}[palette]
        figure = page.locator("figure.guide-figure").first
        svg = figure.locator("svg")
        assert svg.get_attribute("role") == "img" and len(svg.get_attribute("aria-label")) > 80
        figure.scroll_into_view_if_needed()
        assert figure.bounding_box()["width"] > 300, "the figure is not drawn at a readable size"
        text_colours[palette] = svg.evaluate("node => getComputedStyle(node.querySelector('text')).fill")
        figure.screenshot(path=str(ARTIFACTS / f"figure-{name}-{palette}.png"))
        assert_stayed_local_and_quiet(page)
    assert text_colours["light"] != text_colours["dark"], "the figure's text did not follow the palette"

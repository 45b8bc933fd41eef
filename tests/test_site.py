"""The built site: strict build passes, every block shows its real output, nothing is left out."""

from __future__ import annotations

import json
import re

import lxml.html
import pytest
from conftest import CHAPTERS, PAGES, ROOT, SNIPPETS, built_file, built_page, executed_snippets, first, text

from guide_build.core.cache import cached_run
from guide_build.core.claims import CLAIM_RE, fenced_block_lines
from guide_build.core.code_markup import unwrap_plain_names
from guide_build.core.figures import EXECUTED_FENCE_RE, alt_of
from guide_build.core.markers import block_id
from guide_build.core.snippet_options import options_of
from guide_build.core.witnesses import WITNESS_RE


@pytest.mark.parametrize("page", PAGES)
def test_every_executed_block_shows_what_its_snippet_printed(site, page):
    shown = text(first(built_page(site, page), "article"))
    for snippet in executed_snippets(page):
        output = cached_run(snippet).output  # the run the build used
        assert " ".join(output.split()) in " ".join(shown.split()), (
            f"{page}: the output of {snippet} is not on the page"
        )


DISTRIBUTED = [(page, snippet) for page in PAGES for snippet in executed_snippets(page) if options_of(snippet).ranks]


def test_the_guide_has_distributed_examples():
    assert len(DISTRIBUTED) >= 20


@pytest.mark.parametrize(("page", "snippet"), DISTRIBUTED)
def test_a_distributed_example_shows_its_launch_command_and_every_rank(site, page, snippet):
    block = built_page(site, page).get_element_by_id(block_id(snippet), None)
    command = f"torchrun --nproc-per-node {options_of(snippet).ranks} {snippet}"
    launch = None if block is None else first(block, ".launch-command")
    assert launch is not None and text(first(launch, "code")) == command
    labels = {line.split(":")[0] for line in cached_run(snippet).output.splitlines()}
    assert labels <= {f"[rank{rank}]" for rank in range(options_of(snippet).ranks)}, f"{snippet}: unlabelled lines"


@pytest.mark.parametrize("page", [page for page in PAGES if executed_snippets(page)])
def test_pages_with_examples_carry_the_verified_stamp(site, page):
    stamp = first(built_page(site, page), ".verified-stamp")
    assert stamp is not None and "torch" in text(stamp)


def test_every_snippet_file_is_shown_whole_on_some_page():
    shown = {snippet for page in PAGES for snippet in executed_snippets(page)}
    assert sorted(set(SNIPPETS) - shown) == []


@pytest.mark.parametrize("page", CHAPTERS)
def test_a_chapter_ends_with_what_to_take_away_and_then_exercises(page):
    """docs/contributing.md, "Add a page": the last two sections of every chapter."""
    headings = re.findall(r"^## (.+)$", (ROOT / page).read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert headings[-2:] == ["What to take away", "Exercises"], f"{page} ends with {headings[-2:]}"


def test_snippet_files_are_published_for_download_and_never_as_pages(site):
    published = [snippet for snippet in SNIPPETS if (site / snippet).read_bytes() == (ROOT / snippet).read_bytes()]
    assert published == SNIPPETS
    assert list((site / "snippets").rglob("*.html")) == []  # mkdocs-jupyter must not turn them into pages


def test_no_page_shows_a_traceback(site):
    pages = [p for p in site.rglob("*.html") if "Traceback (most recent call last)" in p.read_text(encoding="utf-8")]
    assert pages == []


def test_no_page_shows_a_code_fence_as_text(site):
    """A fence whose first line Markdown cannot read (```python notest) comes out as a paragraph,
    and the next fence then swallows the prose that follows it into a code block."""
    shown = {}
    for path in site.rglob("*.html"):
        tree = lxml.html.fromstring(path.read_bytes())
        fences = [text for text in tree.xpath("//article//p/text()") if "```" in text]
        if fences:
            shown[str(path.relative_to(site))] = fences[0].strip()[:80]
    assert shown == {}


SOURCE_RE = re.compile(r'<(?:script|img|iframe)\b[^>]*\ssrc="([^"]*)"')
STYLESHEET_RE = re.compile(r'<link\b(?=[^>]*\brel="(?:stylesheet|preload|icon)")[^>]*\bhref="([^"]*)"')
CSS_URL_RE = re.compile(r"url\(['\"]?([^)'\"]+)")
EXTERNAL_URL_RE = re.compile(r"^(?:https?:)?//")


def test_site_loads_nothing_from_other_hosts(site):
    """The site works offline: scripts, styles, fonts and images all come from the site itself.
    (Links to other sites are fine; loading from them is not. The browser test checks requests.)"""
    loaded = set()
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        loaded.update(SOURCE_RE.findall(html), STYLESHEET_RE.findall(html))
    for css in site.rglob("*.css"):
        loaded.update(CSS_URL_RE.findall(css.read_text(encoding="utf-8")))
    assert sorted(url for url in loaded if EXTERNAL_URL_RE.match(url)) == []


def test_site_has_a_not_found_page(site):
    not_found = lxml.html.fromstring((site / "404.html").read_bytes())
    assert "404" in text(not_found)


def test_every_page_links_to_its_source_for_editing(site):
    for page in PAGES:
        edit = first(built_page(site, page), "a[title='Edit this page']")
        assert edit is not None and edit.get("href").endswith(page.removeprefix("docs/")), page


@pytest.mark.parametrize("page", PAGES)
def test_notebook_buttons_point_at_published_notebooks(site, page):
    """Chapters link their notebook; the home and contributing pages have none to link."""
    links = built_page(site, page).cssselect(".notebook-links a:not([href^='https:'])")
    is_chapter = "/" in page.removeprefix("docs/") and bool(executed_snippets(page))
    assert len(links) == (2 if is_chapter else 0)
    for link in links:
        target = (built_file(site, page).parent / link.get("href")).resolve()
        assert target.is_file() or (target / "index.html").is_file(), link.get("href")


def test_home_page_counts_every_example_claim_and_exercise(site):
    rows = first(built_page(site, "docs/index.md"), "table").cssselect("tr")
    total = [text(cell).strip() for cell in rows[-1].cssselect("td")]
    assert total[0] == "All pages"
    examples, claims, witnessed, assertions, exercises = map(int, total[1:])
    claims_on_pages = sum(len(built_page(site, page).cssselect(".checked-claim")) for page in PAGES)
    claims_on_pages += sum(marks_in_alt_texts(page, CLAIM_RE) for page in PAGES)  # heard, not marked
    witnessed_on_pages = sum(
        len(built_page(site, page).cssselect(".checked-witness, .checked-gpu-witness, .checked-cpu-witness"))
        for page in PAGES
    )
    witnessed_on_pages += sum(marks_in_alt_texts(page, WITNESS_RE) for page in PAGES)
    assert (examples, claims, witnessed, exercises) == (
        len(SNIPPETS),  # every snippet is shown whole on exactly one page
        claims_on_pages,
        witnessed_on_pages,
        len([snippet for snippet in SNIPPETS if "_exercise_" in snippet]),
    )
    assert assertions >= examples  # every example ends by asserting what it shows
    assert [text(first(row, "a")) for row in rows[1:-1]][:2] == ["Home", "Counting parameters"]


def marks_in_alt_texts(page: str, pattern: re.Pattern) -> int:
    """Claims or witnesses in the alt texts of a page's figures, which the page shows unmarked."""
    markdown = (ROOT / page).read_text(encoding="utf-8")
    lines = markdown.split("\n")
    fences = [lines[number] for number, role, _ in fenced_block_lines(markdown) if role == "fence"]
    return sum(len(pattern.findall(alt_of(line) or "")) for line in fences if EXECUTED_FENCE_RE.match(line))


def test_plain_names_are_unwrapped_and_nothing_else():
    html = '<span class="n">x</span><span class="o">=</span><span class="nn">torch</span><span class="n">a&lt;b</span>'
    assert unwrap_plain_names(html) == 'x<span class="o">=</span><span class="nn">torch</span>a&lt;b'


def test_an_unwrapped_name_looks_as_it_did(site):
    """Material colours `.n` with the code's own colour in both palettes, the guide's stylesheet
    does not change that, and the notebook stylesheet has no rule for `.n` (a name takes its
    block's colour): so dropping the span changes nothing a reader sees."""
    material = sorted((site / "assets" / "stylesheets").glob("*.css"))
    names = {rule for css in material for rule in re.findall(r"--md-code-hl-name-color:([^;}]+)", css.read_text())}
    assert names == {"var(--md-code-fg-color)"}
    assert "--md-code-hl-name-color" not in (ROOT / "docs" / "stylesheets" / "guide.css").read_text(encoding="utf-8")
    assert re.search(
        r"\.highlight \.kc,\.highlight \.n\{color:var\(--md-code-hl-name-color\)\}",
        "".join(css.read_text() for css in material),
    )
    notebook_css = (site / "notebooks" / "notebook.css").read_text(encoding="utf-8")
    assert ".highlight-ipynb {" in notebook_css
    assert not re.search(r"\.highlight-ipynb \.n[ ,{]", notebook_css)


@pytest.mark.parametrize(
    "page", [page for page in PAGES if "/" in page.removeprefix("docs/") and executed_snippets(page)]
)
def test_code_carries_no_plain_name_spans(site, page):
    html = lxml.html.tostring(built_page(site, page), encoding="unicode")
    assert '<span class="n">' not in html
    assert '<span class="nn">' in html or '<span class="k' in html  # still highlighted
    notebook = (site / "notebooks" / page.removeprefix("docs/").removesuffix(".md") / "index.html").read_text(
        encoding="utf-8"
    )
    assert '<span class="n">' not in notebook and '<span class="nn">' in notebook


def test_check_notes_and_marks_stay_out_of_the_search_index(site):
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    indexed = " ".join(doc["text"] for doc in docs)
    assert "Checked: " not in indexed and "Checked when this page was built" not in indexed
    assert "data-search-exclude" not in built_file(site, "docs/parameters/buffers.md").read_text(encoding="utf-8")
    page = built_page(site, "docs/parameters/buffers.md")
    assert page.cssselect(".check-note") and "Checked when this page was built" in text(page)
    # The marks too, though the page shows one after every checked statement.
    buffers = " ".join(doc["text"] for doc in docs if doc["location"].startswith("parameters/buffers/"))
    assert len(page.cssselect(".check-mark")) > 10 and "register_buffer" in buffers and "✓" not in buffers


def test_printed_output_stays_out_of_the_search_index_and_code_goes_in(site):
    """The search index, which every visitor downloads, carries the snippets' code but not what
    they printed (a tenth of it, and not what readers search for), nor the code of exercise
    solutions; the page still shows all of it."""
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    indexed = " ".join(" ".join(doc["text"].split()) for doc in docs)
    run = cached_run("snippets/parameters/01_access.py")
    first_line = run.output.splitlines()[0]
    assert " ".join(first_line.split()) not in indexed
    assert "get_parameter(" in indexed and first_line in text(built_page(site, "docs/parameters/parameters.md"))
    # An exercise's solution code stays out too, though its page shows it.
    solution = "def relu_to_gelu("  # snippets/containers/11_exercise_swap_activations.py
    assert solution not in indexed and solution in text(built_page(site, "docs/modules/containers.md"))
    # A comment that only labels an assertion stays out; other comments stay in.
    page = text(built_page(site, "docs/parameters/parameters.md"))
    chapter = " ".join(doc["text"] for doc in docs if doc["location"].startswith("parameters/parameters/"))
    assert "# witness: is-tensor" in page and "get_parameter(" in chapter and "witness:" not in chapter
    assert "# By path: get_parameter() follows the same dotted path back to the tensor." in indexed


def test_every_block_that_asks_for_it_shows_the_recorded_cuda_output(site):
    """The record in tests/records/ covers every gpu="recorded" block as its snippet is now."""
    for page in PAGES:
        lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
        asked = sum('exec="on"' in line and 'gpu="recorded"' in line for line in lines)
        built = built_page(site, page)
        assert len(built.cssselect(".gpu-result")) == asked, page
        titles = [text(title).strip() for title in built.cssselect(".admonition-title")]
        assert not {"Not yet run on a GPU", "Failed on a GPU"} & set(titles), page

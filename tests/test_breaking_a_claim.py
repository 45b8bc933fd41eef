"""Break the guide in a copy of it and watch both the strict build and the tests fail.

This is the guide's central promise. Change `nn.Linear(8, 3)` to `nn.Linear(8, 4)` in the
parameter-count example, and the build and the tests fail naming the snippet file and the line of
the assertion that no longer holds. Change a number in a page's prose (the 192 of the tied-weight
gradient), and they fail naming the page, the line and the value the code computed.

The copy holds the real pages of both breaks, and of the pages they link to only the headings
(their anchors): its build and its tests then take seconds, not the whole guide's time.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from site_build import start_build, start_pytest, stop
from tiny_guide import with_nav

from guide_build.core.cache import CACHE_DIR_ENV, cache_dir

SNIPPET = "snippets/worked_examples/01_parameter_count.py"
PARAMETER_COUNT_PAGE = "docs/worked-examples/parameter-count.md"
PROSE_PAGE = "docs/worked-examples/tied-weight.md"
GRADIENT_CLAIM = '**192**{ data-claim="worked_examples/02_tied_weight.py:dloss_dw" }'
# Share the session build's caches (wherever GUIDE_CACHE_DIR and GUIDE_NOTEBOOK_CACHE_DIR put
# them): untouched snippets and notebooks are reused, edited ones get new keys.
SHARED_CACHES = {
    CACHE_DIR_ENV: str((ROOT / cache_dir()).resolve()),
    "GUIDE_NOTEBOOK_CACHE_DIR": str(
        (ROOT / os.environ.get("GUIDE_NOTEBOOK_CACHE_DIR", ".cache/notebook-pages")).resolve()
    ),
}


@pytest.fixture(scope="module")
def broken_guide(tmp_path_factory, site):
    """A copy of the guide with two independent breaks: a changed layer size in one snippet, and a
    wrong number in another page's prose. Returns the copy and the message each must produce.
    (After the session's build, whose cached runs the copy's build reuses for the other snippets.)"""
    copy = tmp_path_factory.mktemp("broken-guide")
    for name in ("snippets", "guide_build", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    copy_pages(copy, [PARAMETER_COUNT_PAGE, PROSE_PAGE])
    snippet_line = replace_once(copy / SNIPPET, "nn.Linear(8, 3)", "nn.Linear(8, 4)", first_line_starting="assert")
    prose_line = replace_once(copy / PROSE_PAGE, GRADIENT_CLAIM, GRADIENT_CLAIM.replace("192", "193"))
    return copy, {
        "snippet": f'File "{SNIPPET}", line {snippet_line}',
        "prose": f"{PROSE_PAGE}:{prose_line}: the page says '193' for snippets/worked_examples/02_tied_weight.py:dloss_dw, "
        "but the snippet computed 192",
    }


def copy_pages(copy: Path, pages: list[str]) -> None:
    """Copy these pages, the docs folder's other files, a stand-in of each page they link to (its
    title and headings), and mkdocs.yml with a navigation of just those pages."""
    shutil.copytree(ROOT / "docs", copy / "docs", ignore=shutil.ignore_patterns("*.md"))
    linked = sorted(
        {
            (ROOT / page).parent.joinpath(target).resolve().relative_to(ROOT).as_posix()
            for page in pages
            for target in LINKED_PAGE.findall((ROOT / page).read_text(encoding="utf-8"))
        }
        - set(pages)
    )
    for page in pages:
        shutil.copy(ROOT / page, copy / page)
    for page in linked:
        (copy / page).write_text(headings_of((ROOT / page).read_text(encoding="utf-8")), encoding="utf-8")
    nav = "nav:\n" + "".join(f"  - {page.removeprefix('docs/')}\n" for page in [*pages, *linked])
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (copy / "mkdocs.yml").write_text(with_nav(config, nav), encoding="utf-8")


LINKED_PAGE = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def headings_of(page: str) -> str:
    """The page's headings, outside code blocks, with the blank line that Markdown needs between them."""
    headings, in_code = [], False
    for line in page.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            headings.append(line)
    return "\n\n".join(headings) + "\n"


def replace_once(path: Path, old: str, new: str, first_line_starting: str | None = None) -> int:
    """Replace `old` by `new`; return the line of `old`, or of the first line starting with the
    given text (where the edit makes an assertion fail)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert sum(line.count(old) for line in lines) == 1
    marker = first_line_starting or old
    line = next(
        number
        for number, text in enumerate(lines, 1)
        if (text.startswith(marker) if first_line_starting else marker in text)
    )
    path.write_text("\n".join(lines).replace(old, new), encoding="utf-8")
    return line


@pytest.fixture(scope="module")
def started(request, broken_guide, tmp_path_factory):
    """The strict build of the broken copy and its tests (those of the selected tests), started
    side by side: each takes seconds, and they share only the session build's caches, whose
    entries are written whole. The build is quiet (`--quiet`), which must not hide a problem from
    the strict check (mkdocs/mkdocs#4126)."""
    copy, _ = broken_guide
    selected = {item.name for item in request.session.items}
    processes = {}
    if test_build_fails_naming_the_snippet_line_and_the_page_line.__name__ in selected:
        site = tmp_path_factory.mktemp("broken-site")
        processes["build"] = start_build(copy, site, env=SHARED_CACHES, quiet=True)
    if test_tests_fail_naming_the_snippet_line_and_the_page_line.__name__ in selected:
        selection = "(01_parameter_count or tied-weight) and not fresh_run"
        processes["tests"] = start_pytest(copy, "tests/test_snippets.py", "tests/test_claims.py", "-k", selection)
    yield processes
    stop(processes.values())


def test_build_fails_naming_the_snippet_line_and_the_page_line(broken_guide, started):
    _, messages = broken_guide
    stdout, stderr = started["build"].communicate(timeout=900)
    assert started["build"].returncode != 0
    assert messages["snippet"] in stderr
    assert messages["prose"] in stderr
    assert stderr.count("WARNING -") == 2, stderr  # the two breaks, and nothing from the reduced copy
    assert "Aborted with" in stdout + stderr


def test_tests_fail_naming_the_snippet_line_and_the_page_line(broken_guide, started):
    _, messages = broken_guide
    stdout, _ = started["tests"].communicate(timeout=600)
    assert started["tests"].returncode == 1, stdout[-3000:]
    assert messages["snippet"] in stdout
    assert messages["prose"] in stdout

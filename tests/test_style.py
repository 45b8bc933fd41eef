"""The pre-commit hooks (formatting, linting of Python, Markdown and YAML) pass on every file,
including files not yet added to git: a new snippet is linted before its first commit."""

import os
import subprocess

from conftest import BIN, ROOT, tool

from guide_build.core.claims import fenced_block_lines


def files_in_the_working_tree() -> list[str]:
    """Tracked files, and untracked ones that git does not ignore."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listing.stdout.split("\0") if name and (ROOT / name).is_file()]


def test_pre_commit_hooks_pass_on_every_file_of_the_working_tree():
    pre_commit = tool("pre-commit")
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    files = files_in_the_working_tree()
    assert "tests/test_style.py" in files
    result = subprocess.run(
        [pre_commit, "run", "--show-diff-on-failure", "--color", "never", "--files", *files],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def long_code_lines(markdown: str, limit: int = 100) -> list[int]:
    """Line numbers of fenced code wider than `limit` columns, counted from the fence's own
    indentation (an admonition's block is shown without it)."""
    lines = markdown.split("\n")
    return [
        number + 1
        for number, role, indent in fenced_block_lines(markdown)
        if role == "code" and len(lines[number].rstrip()) - indent > limit
    ]


def test_code_on_the_pages_fits_in_100_columns():
    """The audit measures this in a browser (tests/test_accessibility.py); this finds it in a second,
    before a build: a code line wider than a snippet's 100 columns scrolls sideways at 1440 px."""
    wide = {
        str(page.relative_to(ROOT)): lines
        for page in sorted((ROOT / "docs").rglob("*.md"))
        if (lines := long_code_lines(page.read_text(encoding="utf-8")))
    }
    assert wide == {}, "code lines over 100 columns (page: line numbers)"
    assert long_code_lines("```\n" + "x" * 101 + "\n```\n    ```\n    " + "y" * 100 + "\n    ```\n") == [2]

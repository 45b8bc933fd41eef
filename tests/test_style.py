"""The pre-commit hooks (formatting, linting of Python, Markdown and YAML) pass on every file,
including files not yet added to git: a new snippet is linted before its first commit."""

import os
import subprocess

from conftest import BIN, ROOT, tool


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

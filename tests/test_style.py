"""The pre-commit hooks (formatting, linting of Python, Markdown and YAML) pass on every file."""

import os
import subprocess

from conftest import BIN, ROOT, tool


def test_pre_commit_hooks_pass_on_all_files():
    pre_commit = tool("pre-commit")
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [pre_commit, "run", "--all-files", "--show-diff-on-failure", "--color", "never"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]

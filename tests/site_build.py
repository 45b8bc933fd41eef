"""Build a guide (the session's site, or a copy a test breaks) as `mkdocs build --strict` does for
publishing, and run a copy's own tests; either in the foreground, or started in the background so
that a test can run two side by side (`.communicate()` waits for one, `stop` ends them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

_PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def build_command(
    site_dir: Path, env: dict[str, str] | None = None, quiet: bool = False
) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    command += ["--quiet"] if quiet else []
    return command, {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}


_LOG_LEVEL = re.compile(r"(DEBUG|INFO|WARNING|ERROR) +- ")


def problems_last(log: str, tail: int = 8000) -> str:
    """The end of a build's log, then its warnings and errors, each with the lines that continue
    it (a traceback), so that the last lines of a failed run, all that a CI page may show, say what
    went wrong rather than which notebooks were copied. The first ones are kept (the first problem
    is often the cause of the others), up to `tail` characters, and the rest counted."""
    blocks: list[list[str]] = []
    keep = False
    for line in log.splitlines():
        level = _LOG_LEVEL.match(line)
        if level:
            keep = level[1] in ("WARNING", "ERROR")
            if keep:
                blocks.append([])
        if keep and not line.startswith("Aborted with"):
            blocks[-1].append(line)
    if not blocks:
        return log[-tail:]
    shown, size = [], 0
    for block in blocks:
        text = "\n".join(block)
        if shown and size + len(text) > tail:
            break
        shown.append(text)
        size += len(text) + 1
    left_out = (
        f"\n({len(blocks) - len(shown)} more left out: see the build's whole log)" if len(shown) < len(blocks) else ""
    )
    listed = "\n".join(shown)
    return f"{log[-tail:]}\n\nThe build's warnings and errors ({len(blocks)}):\n{listed}{left_out}"


def build_site(root: Path, site_dir: Path, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command, environment = build_command(site_dir, env)
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=900)


def start_build(
    root: Path, site_dir: Path, *, env: dict[str, str] | None = None, quiet: bool = False
) -> subprocess.Popen:
    command, environment = build_command(site_dir, env, quiet)
    return subprocess.Popen(command, cwd=root, env=environment, **_PIPES)


def start_pytest(root: Path, *arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The copy's own tests, in one process, with no GPU required."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *arguments]
    return subprocess.Popen(command, cwd=root, env={**os.environ, "REQUIRE_CUDA": "", **(env or {})}, **_PIPES)


def stop(processes: Iterable[subprocess.Popen]) -> None:
    """End processes started in the background (those already ended are left as they are) and
    close their pipes."""
    for process in processes:
        process.kill()
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()

"""Build the site once per test session, as `mkdocs build --strict` does for publishing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def build_command(site_dir: Path, env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    return command, {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}


def build_site(root: Path, site_dir: Path, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command, environment = build_command(site_dir, env)
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=900)

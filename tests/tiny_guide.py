"""A two-page copy of the guide's machinery, for tests that must build a site many times.

It has the real mkdocs.yml (hooks, markdown-exec, mkdocs-jupyter, strict), the real build glue
and test files, and two chapter pages of its own with one snippet each. Tests plant a problem in
it and build or test it in seconds, instead of building the whole guide.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from site_build import build_site, start_build, start_pytest

from guide_build.core.cache import CACHE_DIR_ENV, DEFAULT_CACHE_DIR
from guide_build.core.runner import run_snippet

ROOT = Path(__file__).resolve().parents[1]
NAV = """nav:
  - Home: index.md
  - Part:
      - First: part/first.md
      - Second: part/second.md
"""
FIRST_SNIPPET = '''"""A seeded draw, its mean, and what it shows."""

import sys

import torch

torch.manual_seed(0)
values = torch.randn(1000)
mean = round(values.mean().item(), 3)
print("mean:", mean)
assert abs(mean) < 0.1  # witness: mean-near-zero
big_endian = sys.byteorder == "big"
if big_endian:
    one = torch.tensor([1], dtype=torch.int16).numpy().tobytes()
    assert one == b"\\x00\\x01"  # witness: big-end-first
'''
SECOND_SNIPPET = '''"""A matrix, printed."""

import torch

matrix = torch.arange(6.0).reshape(2, 3) / 7
total = int(matrix.sum().item() * 7)
print(matrix)
assert total == 15
'''


def block(snippet: str) -> str:
    return f'```python exec="on" title="{snippet}"\n--8<-- "{snippet}"\n```\n'


FIRST_PAGE = (
    "# First\n\n"
    'The mean of a thousand draws is **{mean}**{ data-claim="part/01_first.py:mean" }, and\n'
    '*it lies near zero*{ data-witness="part/01_first.py:mean-near-zero" }. A machine that stores\n'
    "numbers big end first stores *an int16 1 as the bytes 0 and\n"
    '1*{ data-witness="part/01_first.py:big-end-first@if:big_endian" }.\n\n' + block("snippets/part/01_first.py")
)
SECOND_PAGE = '# Second\n\nThe entries add up to **15**{ data-claim="part/02_second.py:total" } sevenths.\n\n' + block(
    "snippets/part/02_second.py"
)


class TinyGuide:
    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("guide_build", "tests"):
            shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "records"))
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        (root / "docs" / "stylesheets").mkdir(parents=True)
        shutil.copy(ROOT / "docs" / "stylesheets" / "guide.css", root / "docs" / "stylesheets" / "guide.css")
        config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
        (root / "mkdocs.yml").write_text(with_nav(config, NAV), encoding="utf-8")
        self.write("docs/index.md", "# Tiny guide\n\nTwo pages.\n")
        self.write("snippets/part/01_first.py", FIRST_SNIPPET)
        self.write("snippets/part/02_second.py", SECOND_SNIPPET)
        mean = self.mean_of_first_snippet()
        self.write("docs/part/first.md", FIRST_PAGE.replace("{mean}", mean))
        self.write("docs/part/second.md", SECOND_PAGE)

    def mean_of_first_snippet(self) -> str:
        return _mean_printed_by(self.read("snippets/part/01_first.py"))

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def own_caches(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """`env`, with the caches in the guide's own .cache folder unless `env` says otherwise,
        even where the caller's environment points GUIDE_CACHE_DIR elsewhere (the benchmark does)."""
        return {
            CACHE_DIR_ENV: str(self.root / DEFAULT_CACHE_DIR),
            "GUIDE_NOTEBOOK_CACHE_DIR": str(self.root / ".cache" / "notebook-pages"),
            **(env or {}),
        }

    def build(self, site_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`mkdocs build --strict` with the guide's own (cold, unless built before) caches."""
        return build_site(self.root, site_dir, env=self.own_caches(env))

    def start_build(self, site_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        """The same build, started in the background (`.communicate()` waits for it)."""
        return start_build(self.root, site_dir, env=self.own_caches(env))

    def start_pytest(self, *arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """The guide's tests, started in the background (`.communicate()` waits for them)."""
        return start_pytest(self.root, *arguments, env=self.own_caches(env))


def with_nav(config: str, nav: str) -> str:
    """mkdocs.yml's text with its `nav:` section replaced by `nav` (which starts with `nav:`)."""
    return re.sub(r"(?ms)^nav:\n.*?(?=^\S)", nav + "\n", config)


def pages_of(site_dir: Path) -> dict[str, bytes]:
    """Every HTML page and notebook of a built site, by path."""
    return {
        path.relative_to(site_dir).as_posix(): path.read_bytes()
        for path in sorted(site_dir.rglob("*"))
        if path.suffix in (".html", ".ipynb", ".json") and path.is_file()
    }


@functools.cache
def _mean_printed_by(source: str) -> str:
    """Run once per test process and source, by the runner the build uses (every tiny guide starts
    with the same first snippet)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "first.py").write_text(source, encoding="utf-8")
        output = run_snippet(Path(folder) / "first.py", device="cpu").output
    return re.search(r"^mean: (\S+)$", output, re.MULTILINE)[1]

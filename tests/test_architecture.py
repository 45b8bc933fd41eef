"""The core of the build is plain Python: it can move to another site generator.

Material for MkDocs reaches its end of life in May 2027, and its successor reads mkdocs.yml but
not MkDocs hooks. Everything that runs snippets, caches runs, checks claims and witnesses, makes
notebooks and counts the inventory lives in guide_build/core/ and imports no MkDocs, Markdown,
markdown-exec, pymdownx or pytest; the adapters in guide_build/adapters/ call it.
"""

import ast
from pathlib import Path

from conftest import ROOT

SITE_GENERATOR_PACKAGES = {"mkdocs", "markdown", "markdown_exec", "pymdownx", "material", "pytest", "markdown_it"}
CORE = sorted((ROOT / "guide_build" / "core").glob("*.py"))


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if not node.module.startswith("guide_build") else node.module)
    return names


def test_the_core_imports_no_site_generator_and_no_adapter():
    assert len(CORE) >= 10
    offending = {
        path.name: sorted(
            name for name in imported_packages(path) if name in SITE_GENERATOR_PACKAGES or "adapters" in name
        )
        for path in CORE
    }
    assert {name: found for name, found in offending.items() if found} == {}

"""The classes and functions a snippet defines, loaded into the test process to test them.

The guide runs snippets in processes of their own (guide_build.core.runner). A test that checks a
layer a snippet defines needs the class itself, so this runs the snippet here, as `__main__` of a
module object of its own: its printing goes nowhere, the random streams are put back afterwards,
and the helper modules it imported from its folder are forgotten again, so that two chapters'
helpers of the same name never meet.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import runpy
import sys
from pathlib import Path

import torch


def definitions(path: str | Path) -> dict[str, object]:
    path = Path(path)
    modules_before = set(sys.modules)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        with torch.random.fork_rng(), contextlib.redirect_stdout(io.StringIO()):
            return runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.path.remove(str(path.parent.resolve()))
        for name in set(sys.modules) - modules_before:
            if str(path.parent.resolve()) in (getattr(sys.modules[name], "__file__", None) or ""):
                del sys.modules[name]


def helper_module(path: str | Path):
    """Import a snippet folder's helper module under a name no other folder's helper can take."""
    path = Path(path).resolve()
    name = f"snippet_helper_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

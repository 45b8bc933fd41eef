"""The "verified" line at the foot of every page that runs snippets."""

from __future__ import annotations

import html
import platform
from collections.abc import Iterable

import torch

from guide_build.cache import device_description
from guide_build.runner import SnippetRun


def render(runs: Iterable[SnippetRun]) -> str:
    runs = list(runs)
    seconds = sum(run.seconds for run in runs)
    examples = "example" if len(runs) == 1 else "examples"
    text = (
        f"Verified: the {len(runs)} {examples} on this page ran when the site was built, "
        f"with torch {torch.__version__} on {device_description()} (Python {platform.python_version()}), "
        f"in {seconds:.2f} s."
    )
    return f'\n<p class="verified-stamp">{html.escape(text)}</p>\n'

"""The "verified" lines at the foot of every page that runs snippets: this build, and the GPU run."""

from __future__ import annotations

import html
import platform

from guide_build.core import gpu_record
from guide_build.core.cache import device_description, torch_version
from guide_build.core.runner import SnippetRun


def render(runs: list[SnippetRun], gpu_run: gpu_record.GpuRun | None) -> str:
    examples = "example" if len(runs) == 1 else "examples"
    built = (
        f"Verified: the {len(runs)} {examples} on this page ran when the site was built, each in a fresh "
        f"process, with torch {torch_version()} on {device_description()} (Python {platform.python_version()})."
    )
    return f'\n<p class="verified-stamp">{html.escape(built)}<br>{html.escape(gpu_line(runs, gpu_run))}</p>\n'


def gpu_line(runs: list[SnippetRun], gpu_run: gpu_record.GpuRun | None) -> str:
    if gpu_run is None:
        return "GPU: no GPU test run has been recorded yet."
    passed = sum(1 for run in runs if gpu_run.output_for(run.path) is not None)
    failed = sum(1 for run in runs if gpu_run.failure_of(run.path) is not None)
    other = len(runs) - passed - failed
    line = f"GPU: {passed} of {len(runs)} passed in the recorded CUDA test run ({gpu_run.summary})"
    line += f"; {failed} failed there" if failed else ""
    return line + (f"; {other} changed since then or not run there." if other else ".")

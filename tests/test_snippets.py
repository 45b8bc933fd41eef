"""Every snippet file runs to its end, and so checks its own assertions, on CPU and on CUDA."""

from pathlib import Path

import pytest
from conftest import DEVICES, SNIPPETS

from guide_build.core.inventory import assertions_in


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", SNIPPETS)
def test_snippet_runs(path, device, snippet_run):
    run = snippet_run(path, device)
    assert run.output.strip(), f"{path} printed nothing: a snippet shows its results"


def test_every_snippet_asserts_what_it_demonstrates():
    unchecked = [path for path in SNIPPETS if assertions_in(Path(path)) == 0]
    assert unchecked == [], "end each of these by asserting what it shows"

"""Every snippet file runs to its end, and so checks its own assertions, on CPU and on CUDA."""

import pytest
from conftest import DEVICES, SNIPPETS


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", SNIPPETS)
def test_snippet_runs(path, device, snippet_run):
    run = snippet_run(path, device)
    assert run.output.strip(), f"{path} printed nothing: a snippet shows its results"

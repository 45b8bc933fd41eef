"""`make check-torch-versions` (tests/torch_versions.py) runs what the pages run, and names what fails.

Making an environment for another torch release downloads several GB, so the suite checks the
parts that do not: which examples it runs, and how it reports one that fails, with this torch.
"""

from __future__ import annotations

import torch_versions
from conftest import PAGES, executed_snippets


def test_it_runs_every_example_the_pages_run():
    assert set(torch_versions.every_example()) == {path for page in PAGES for path in executed_snippets(page)}


def test_a_failing_example_is_named_with_its_line_and_the_others_are_not(tmp_path, capsys):
    passes = tmp_path / "passes.py"
    passes.write_text("print('fine')\n", encoding="utf-8")
    fails = tmp_path / "fails.py"
    fails.write_text("import torch\n\nassert torch.ones(1).item() == 2  # a behaviour this release lacks\n")
    assert torch_versions.run_all([str(passes), str(fails)]) == 1
    report = capsys.readouterr().out
    assert f"FAILED {fails}" in report and "line 3" in report
    assert str(passes) not in report

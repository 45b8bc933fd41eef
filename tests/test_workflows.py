"""The CI workflow files pass actionlint, and actionlint does catch a broken workflow."""

import subprocess
from pathlib import Path

from conftest import ROOT, tool

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# Named explicitly: actionlint looks for it beside a .git folder, and a copied tree has none.
CONFIG = ROOT / ".github" / "actionlint.yaml"


def actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-config-file", str(CONFIG), *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_three_workflows_exist():
    assert {path.name for path in WORKFLOWS} == {"ci.yml", "gpu.yml", "pages.yml"}


def test_workflows_pass_actionlint():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gpu_workflow_requires_cuda():
    assert 'REQUIRE_CUDA: "1"' in (ROOT / ".github" / "workflows" / "gpu.yml").read_text(encoding="utf-8")


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_field }}\n"
    )
    result = actionlint(broken, cwd=tmp_path)
    assert result.returncode == 1 and "no_such_field" in result.stdout

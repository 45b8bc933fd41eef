"""The recorded GPU run that the site shows: what it promises, and that it is kept current."""

import re
from pathlib import Path

import pytest
from conftest import CUDA, PAGES, ROOT

from guide_build.core import gpu_record
from guide_build.core.runner import SnippetRun
from guide_build.core.stamp import gpu_line

TITLE_RE = re.compile(r'title="([^"]+)"')


def shown_with_gpu_output(page: str) -> list[str]:
    """The snippets whose recorded CUDA output the page shows (fences with gpu="recorded")."""
    lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
    return [TITLE_RE.search(line)[1] for line in lines if 'exec="on"' in line and 'gpu="recorded"' in line]


SHOWN_ON_GPU = sorted({snippet for page in PAGES for snippet in shown_with_gpu_output(page)})


def fake_run(snippet: Path, output: str = "cuda:0\n") -> gpu_record.GpuRun:
    return gpu_record.GpuRun(
        device="NVIDIA H200",
        torch="2.11.0+cu130",
        cuda="13.0",
        date="2026-11-28",
        outputs={str(snippet): output},
        hashes={str(snippet): gpu_record.snippet_hash(snippet)},
    )


def test_a_record_is_only_shown_for_the_snippet_it_was_made_from(tmp_path):
    snippet = tmp_path / "01_x.py"
    snippet.write_text("print('cuda')\n")
    record = fake_run(snippet)
    assert record.output_for(str(snippet)) == "cuda:0\n"
    snippet.write_text("print('edited')\n")
    assert record.output_for(str(snippet)) is None


def test_record_round_trips_through_its_file(tmp_path):
    snippet = tmp_path / "01_x.py"
    snippet.write_text("print(1)\n")
    gpu_record.save(fake_run(snippet), tmp_path / "gpu-run.json")
    assert gpu_record.load(tmp_path / "gpu-run.json") == fake_run(snippet)


def test_stamp_counts_examples_covered_by_the_gpu_run(tmp_path):
    current, changed, failing = tmp_path / "01_a.py", tmp_path / "02_b.py", tmp_path / "03_c.py"
    current.write_text("print(1)\n")
    changed.write_text("print(2)\n")
    failing.write_text("print(3)\n")
    record = fake_run(current)
    record.hashes[str(changed)] = "an older version"
    runs = [SnippetRun(str(current), "auto", "1\n"), SnippetRun(str(changed), "auto", "2\n")]
    assert gpu_line(runs, record) == (
        "GPU: 1 of 2 passed in the recorded CUDA test run (NVIDIA H200, torch 2.11.0+cu130 (CUDA 13.0), 2026-11-28); "
        "1 changed since then or not run there."
    )
    record.failures[str(failing)] = "tests/test_snippets.py::test_snippet_runs[cuda-03_c.py]"
    record.hashes[str(failing)] = gpu_record.snippet_hash(failing)
    runs.append(SnippetRun(str(failing), "auto", "3\n"))
    assert gpu_line(runs, record).endswith("2026-11-28); 1 failed there; 1 changed since then or not run there.")
    assert gpu_line(runs, None) == "GPU: no GPU test run has been recorded yet."


def test_a_failure_is_recorded_for_the_version_that_failed(tmp_path):
    snippet = tmp_path / "01_x.py"
    snippet.write_text("print(1)\n")
    record = fake_run(snippet)
    del record.outputs[str(snippet)]
    record.failures[str(snippet)] = "test_x[cuda]"
    assert record.failure_of(str(snippet)) == "test_x[cuda]" and record.output_for(str(snippet)) is None
    snippet.write_text("print(2)\n")
    assert record.failure_of(str(snippet)) is None


def test_a_partial_rerun_keeps_the_unchanged_entries_of_the_same_gpu_and_torch(tmp_path):
    kept, rerun, edited = (tmp_path / name for name in ("01_kept.py", "02_rerun.py", "03_edited.py"))
    for path in (kept, rerun, edited):
        path.write_text(f"print({path.name!r})\n")
    earlier = fake_run(kept)
    for path in (rerun, edited):
        earlier.failures[str(path)] = "test[cuda]"
        earlier.hashes[str(path)] = gpu_record.snippet_hash(path)
    edited.write_text("print('fixed')\n")
    latest = fake_run(rerun, output="fixed\n")
    merged = gpu_record.merged(earlier, latest)
    assert merged.output_for(str(kept)) == "cuda:0\n"  # not rerun, unchanged: kept
    assert merged.output_for(str(rerun)) == "fixed\n" and merged.failure_of(str(rerun)) is None
    assert str(edited) not in merged.snippets()  # changed since it failed: neither passed nor failed
    other_torch = fake_run(rerun)
    other_torch.torch = "2.12.0+cu130"
    assert gpu_record.merged(earlier, other_torch) == other_torch  # another torch: nothing is kept


@pytest.mark.skipif(not CUDA, reason="compares the record with a fresh CUDA run")
@pytest.mark.parametrize("snippet", SHOWN_ON_GPU)
def test_gpu_output_shown_on_the_site_is_current(snippet, snippet_run, request):
    fresh = snippet_run(snippet, "cuda").output
    if request.config.getoption("--record-gpu"):
        return  # this run writes the new record when it finishes
    record = gpu_record.load(ROOT / gpu_record.RECORD_PATH)
    assert record is not None, "no GPU run is recorded: run the tests on CUDA with --record-gpu"
    recorded = record.output_for(snippet)
    assert recorded is not None, f"{snippet} changed since the GPU run was recorded: rerun with --record-gpu"
    assert recorded == fresh, f"{snippet} prints something else on CUDA now: rerun with --record-gpu"


def test_a_block_shows_the_recorded_output_or_says_it_failed_on_the_gpu(tmp_path, monkeypatch):
    import markdown

    from guide_build.adapters import markdown_exec_fence

    snippet = tmp_path / "01_x.py"
    snippet.write_text("print(1)\n")
    record = fake_run(snippet, output="on the gpu: 42\n")
    monkeypatch.setattr(gpu_record, "load", lambda: record)
    md = markdown.Markdown(extensions=["admonition", "pymdownx.superfences"])
    shown = markdown_exec_fence._recorded_gpu_output(snippet, md)
    assert "on the gpu: 42" in shown and "gpu-result" in shown and "NVIDIA H200" in shown
    del record.outputs[str(snippet)]
    record.failures[str(snippet)] = "tests/test_snippets.py::test_snippet_runs[01_x.py-cuda]"
    shown = markdown_exec_fence._recorded_gpu_output(snippet, md)
    assert "Failed on a GPU" in shown and "test_snippet_runs[01_x.py-cuda]" in shown
    snippet.write_text("print(2)\n")  # changed since: neither output nor failure belongs to it
    assert "Not yet run on a GPU" in markdown_exec_fence._recorded_gpu_output(snippet, md)


def test_a_gpu_witness_true_from_a_newer_torch_than_the_gpu_run_s_says_so(tmp_path, monkeypatch):
    from guide_build.core import markers

    monkeypatch.chdir(tmp_path)
    snippet = tmp_path / "snippets" / "c" / "01_x.py"
    snippet.parent.mkdir(parents=True)
    snippet.write_text("import torch\nif torch.cuda.is_available():\n    assert True  # witness: new\n")
    record = fake_run(Path("snippets/c/01_x.py"))  # torch 2.11; the guarded assertion did not run
    monkeypatch.setattr(gpu_record, "load", lambda: record)
    html = '<em data-gpu-witness="c/01_x.py:new@2.13+">new on CUDA</em>'
    older = markers.render_markers(html, "https://example.org/repo")
    assert ">○<" in older and "the recorded GPU test run used torch 2.11, and true from torch 2.13 on" in older
    record.witnesses["snippets/c/01_x.py"] = ["new"]  # a run on a torch where it applies, and held
    assert ">✓<" in markers.render_markers(html, "https://example.org/repo")

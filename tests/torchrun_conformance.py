"""Run every distributed example as a reader would, with the real `torchrun`, and compare.

    make check-torchrun        (about five seconds an example: three interpreters start each time)

The build and the tests fork the ranks from a server that has imported torch already
(guide_build/core/rank_launcher.py); this checks, example by example, that `torchrun
--nproc-per-node N <file>` prints what the page shows, rank by rank. The suite runs the same
comparison on one example (tests/test_distributed_runner.py) and one notebook cell; this runs it
on all of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from guide_build.core.runner import run_snippet
from guide_build.core.snippet_options import options_of

ROOT = Path(__file__).resolve().parents[1]
# With gloo on torch 2.13 a rank sometimes aborts after all its work and output, as it tears down
# (docs/distributed/ddp.md says so), and torchrun reports a failure: a launch that failed only so
# is run again, at most twice more (here and in tests/test_notebooks.py).
GLOO_EXIT_ABORT = "terminate called without an active exception"


def torchrun_output(snippet: Path, ranks: int) -> str:
    """What each rank printed under torchrun, labelled and ordered as the page shows it."""
    with tempfile.TemporaryDirectory() as logs:
        command = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", str(ranks)]
        command += ["--log-dir", logs, "--redirects", "3", str(snippet)]
        environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
        for _ in range(3):  # gloo's occasional abort at exit (docs/distributed/ddp.md): run again
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
            errors = "".join(log.read_text() for log in Path(logs).rglob("stderr.log")) + result.stderr
            if result.returncode == 0 or GLOO_EXIT_ABORT not in errors:
                break
            shutil.rmtree(logs)
            Path(logs).mkdir()
        result.check_returncode()
        by_rank = {int(log.parent.name): log.read_text() for log in Path(logs).rglob("attempt_0/*/stdout.log")}
    return "".join(f"[rank{rank}]: {line}\n" for rank in sorted(by_rank) for line in by_rank[rank].splitlines())


def main() -> int:
    snippets = sorted(path for path in (ROOT / "snippets").rglob("*.py") if options_of(path).ranks)
    different = []
    for snippet in snippets:
        relative = snippet.relative_to(ROOT)
        page = run_snippet(relative, device="cpu").output
        reader = torchrun_output(relative, options_of(snippet).ranks)
        print(("same     " if page == reader else "DIFFERENT"), relative, flush=True)
        if page != reader:
            different.append(relative)
    print(f"{len(snippets) - len(different)} of {len(snippets)} print under torchrun what their page shows")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())

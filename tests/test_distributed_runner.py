"""Distributed snippets (`# guide: ranks=N`): run as `torchrun --nproc-per-node N <file>` would.

The runner forks the ranks from its torch-loaded server instead of starting N interpreters, so it
must give them what torchrun gives: these tests hold it to that, against torchrun itself. The
failure cases (a rank that raises, is killed, or hangs in a collective) are planted in the tiny
guide's broken build (test_pipeline_cannot_be_fooled.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from guide_build.core import run_outcome, runner, snippet_server
from guide_build.core.runner import SnippetFailed, run_snippet

ENVIRONMENT_SNIPPET = '''# guide: ranks=2
"""What a rank sees: the environment torchrun sets, and a collective over both ranks."""

import os

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
names = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
         "ROLE_WORLD_SIZE", "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_MAX_RESTARTS",
         "TORCHELASTIC_USE_AGENT_STORE", "OMP_NUM_THREADS"]
print({name: os.environ.get(name) for name in names})
print("threads:", torch.get_num_threads())
total = torch.tensor([rank + 1.0])
dist.all_reduce(total)
total = total.item()
print("sum over ranks:", total)
dist.destroy_process_group()
assert total == 3.0
'''


@pytest.fixture
def environment_snippet(tmp_path) -> Path:
    path = tmp_path / "ranks.py"
    path.write_text(ENVIRONMENT_SNIPPET, encoding="utf-8")
    return path


def test_each_rank_prints_labelled_rank_zero_first_and_its_values_are_named_by_rank(environment_snippet):
    run = run_snippet(environment_snippet, device="cpu")
    lines = run.output.splitlines()
    assert [line.split(":")[0] for line in lines] == ["[rank0]"] * 3 + ["[rank1]"] * 3, run.output
    assert run.facts["rank"] == 0 and run.facts["rank@rank0"] == 0 and run.facts["rank@rank1"] == 1
    assert run.facts["total@rank1"] == 3.0


def test_the_ranks_get_what_torchrun_gives_its_workers(environment_snippet, tmp_path):
    """The same file under `torchrun --nproc-per-node 2` prints, rank by rank, what the runner shows."""
    logs = tmp_path / "logs"
    torchrun = Path(sys.executable).with_name("torchrun")
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    subprocess.run(
        [str(torchrun), "--standalone", "--nproc-per-node", "2", "--log-dir", str(logs), "--redirects", "3",
         str(environment_snippet)],
        check=True, capture_output=True, text=True, timeout=120, env=environment,
    )  # fmt: skip
    by_rank = {int(log.parent.name): log.read_text(encoding="utf-8") for log in logs.rglob("attempt_0/*/stdout.log")}
    torchrun_output = "".join(
        f"[rank{rank}]: {line}\n" for rank in sorted(by_rank) for line in by_rank[rank].splitlines()
    )
    assert run_snippet(environment_snippet, device="cpu").output == torchrun_output


def test_distributed_runs_side_by_side_never_share_a_port(environment_snippet):
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda _: run_snippet(environment_snippet, device="cpu"), range(4)))
    assert {run.facts["total@rank1"] for run in runs} == {3.0}


EXITS_BADLY = """# guide: ranks=2
import atexit, os
import torch.distributed as dist
dist.init_process_group("gloo")
print("done")
left = f"left-by-rank{dist.get_rank()}.txt"
open(left, "x").close()  # in its working folder; raises if a launch left it there
fails = dist.get_rank() == 1 and {fails_this_time}
if fails:
    atexit.register({how})
dist.barrier()
dist.destroy_process_group()
if not fails:  # the failing rank leaves its file: a second launch must start without it
    os.remove(left)
"""


@pytest.mark.parametrize(
    ("how", "every_time", "message"),
    [
        ("os._exit, 3", True, "(rank 1) reached the end of the file, then ended with status 3 while exiting."),
        (
            "os.abort",
            True,
            "(rank 1) reached the end of the file, then was killed by signal SIGABRT (6) while exiting.",
        ),
        ("os.abort", False, None),
    ],
    ids=["exit-handler-fails", "aborts-every-time", "aborts-once"],
)
def test_a_rank_that_fails_while_exiting_fails_the_run(tmp_path, how, every_time, message):
    """A rank ends as torchrun's worker does, through Python's exit: an exit handler or an object
    freed at exit that fails (or hangs: a deadlock in a destructor) fails the run, although the
    file ran to its end, as the reader's torchrun would report a failed worker. gloo has a rare
    race at exit that leaves a rank stuck or aborted (docs/distributed/ddp.md), so a run that
    failed that way is launched once more, from a clean working folder (the first launch's file
    is gone), and only a second failure counts; the page shows the second launch alone."""
    tried = tmp_path / "tried"  # outside the run: the test's evidence that a first launch failed
    first_time = f"not os.path.exists({str(tried)!r}) and not open({str(tried)!r}, 'w').close()"
    path = tmp_path / "exits_badly.py"
    path.write_text(
        EXITS_BADLY.replace("{fails_this_time}", "True" if every_time else first_time).replace("{how}", how),
        encoding="utf-8",
    )
    if message is None:
        assert run_snippet(path, device="cpu").output == "[rank0]: done\n[rank1]: done\n"
        assert tried.exists()
        return
    with pytest.raises(SnippetFailed) as failure:
        run_snippet(path, device="cpu")
    assert message in str(failure.value) and "(rank 0)" not in str(failure.value)
    assert ("A first launch had failed too" in str(failure.value)) == (how == "os.abort")


def test_a_rank_stuck_while_exiting_is_reported_as_stuck():
    """The exit limit's stack dump names the step of the exit (exit handlers, the script's objects,
    the collection) and the snippet's frames, not the runner's; a line that only looks like it
    is the script's own output."""
    runner = Path(run_outcome.__file__).parent
    stuck = (
        "done\nTimeout (0:00:10)!\nThread 0x1 (most recent call first):\n"
        f'  File "/tmp/x.py", line 3 in __del__\n  File "{runner}/rank_launcher.py", line 166 in _exit_as_python_does\n'
        f'  File "{runner}/snippet_server.py", line 90 in main\n  File "<frozen runpy>", line 88 in _run_code\n'
    )
    failure = run_outcome.failure_of("x.py (rank 1)", 10, 1 << 8, stuck, {"facts": {}}, timed_out=False)
    assert failure.startswith(
        "x.py (rank 1) reached the end of the file, then was still exiting after 10 s, and was stopped."
    )
    assert (
        "line 3 in __del__" in failure
        and "_exit_as_python_does" in failure
        and "snippet_server" not in failure
        and "runpy" not in failure
    )
    assert run_outcome.failed_as_gloo_can_at_exit(failure)
    printed = "Timeout (0:00:10)! is what my script prints\n"
    failure = run_outcome.failure_of("x.py (rank 1)", 10, 1 << 8, printed, {"facts": {}}, timed_out=False)
    assert "then ended with status 1 while exiting" in failure and not run_outcome.failed_as_gloo_can_at_exit(failure)
    assert run_outcome.failure_of("x.py", 10, 0, "done\n", {"facts": {}}, timed_out=False) is None


def test_the_runner_waits_longer_than_the_server_lets_a_run_take():
    """Both bound a run by run_outcome.longest_run (two launches for a distributed snippet), and
    the runner adds more than the server does, so a run stopped by the server is reported with the
    server's message, not as a server that did not answer."""
    assert runner._SERVER_START_TIMEOUT > snippet_server._BACKSTOP
    assert run_outcome.longest_run(10, distributed=True) > 2 * run_outcome.longest_run(10, distributed=False)


@pytest.mark.cuda
def test_on_one_gpu_a_process_group_of_one_uses_nccl(tmp_path):
    """The GPU machine has one GPU, so its run of the 2-rank examples uses gloo on the CPU; this is
    the part of NCCL it can check: the DDP chapter's first example under `torchrun
    --nproc-per-node 1` picks NCCL, and its all_reduce runs on the GPU."""
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [sys.executable, "-m", "torch.distributed.run"] if not torchrun.exists() else [str(torchrun)]
    snippet = Path(__file__).resolve().parents[1] / "snippets" / "ddp" / "01_process_group.py"
    result = subprocess.run(
        [*command, "--standalone", "--nproc-per-node", "1", str(snippet)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "rank 0 of 1, local rank 0, backend nccl" in result.stdout
    assert "after all_reduce:  1" in result.stdout

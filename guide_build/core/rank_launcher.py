"""What a forked child of the snippet server does for a distributed snippet (`# guide: ranks=N`):
start N ranks as `torchrun --nproc-per-node N <file>` would, then put their results together.

Each rank is a fork of this process (torch is imported already) with the environment torchrun
gives its workers (RANK, WORLD_SIZE, MASTER_PORT, ...), so the snippet's
`init_process_group()` reads it exactly as under torchrun. The rendezvous store is created here,
as torchrun's agent does, on a port the system picks: two builds or test workers never meet on
one. Each rank runs the file like a one-process snippet (its own output file, time limit and
stack dump); the page shows every rank's lines, labelled, rank 0 first.

When one rank fails, the others are given a moment to end on their own (a collective usually
raises once its peer is gone), then their stacks are written and they are stopped. The failure
names every rank that failed, first failure first, with its traceback or where it was stuck.
A run in which ranks failed only after reaching the end of the file, stuck or aborted while
exiting as gloo's rare race at exit leaves them (docs/distributed/ddp.md), is launched once more
from a clean working folder; only a second failure counts, the page shows the second launch
alone, and the answer says that a first launch failed, so that the runner reports it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import faulthandler
import gc
import json
import os
import random
import select
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy
import torch

from guide_build.core import run_outcome, snippet_child


def run(
    *,
    display: str,
    script: Path,
    work: Path,
    temporary: Path,
    output: Path,
    result: Path,
    device: str,
    timeout: float,
    ranks: int,
) -> None:
    status = 1
    try:
        snippet_child.become_a_fresh_process(work, temporary, output)
        as_copied = set(work.rglob("*"))
        status, race = _launch(display, script, result, device, timeout, ranks, earlier=None)
        if race is not None:  # gloo's race at exit (docs/distributed/ddp.md): once more, from the start
            _reset(work, as_copied, temporary)
            status, _ = _launch(display, script, result, device, timeout, ranks, earlier=race)
    except BaseException:  # a failure of the launcher itself: show it rather than die silently
        traceback.print_exc()
    finally:
        os._exit(status)


def _launch(
    display: str, script: Path, result: Path, device: str, timeout: float, ranks: int, earlier: str | None
) -> tuple[int, str | None]:
    """The exit status for the run; and, on a first launch that failed only as gloo's race at exit
    can, the first line of that failure (the launch then writes nothing: it is to be run again)."""
    folder = result.parent
    pids, port_pipes = [], []
    for rank in range(ranks):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            _run_rank(rank, ranks, read_end, display, script, folder, device, timeout)
        os.close(read_end)
        pids.append(pid)
        port_pipes.append(write_end)
    # After the forks: the store's threads live in this process only.
    store = torch.distributed.TCPStore("127.0.0.1", 0, ranks, is_master=True, wait_for_workers=False)
    for pipe in port_pipes:
        os.write(pipe, f"{store.port}\n".encode())
        os.close(pipe)
    statuses, stopped = _wait_for_ranks(pids, folder)
    outputs = [_read(_output_file(folder, rank)) for rank in range(ranks)]
    results = [_read_json(_result_file(folder, rank)) for rank in range(ranks)]
    failures = _failures(display, timeout, statuses, stopped, outputs, results)
    if failures and earlier is None and all(run_outcome.failed_as_gloo_can_at_exit(f) for f in failures):
        for rank in range(ranks):
            _output_file(folder, rank).unlink(missing_ok=True)
            _result_file(folder, rank).unlink(missing_ok=True)
        return 1, run_outcome.cause_of(failures[0])
    print(_labelled(outputs), end="", flush=True)
    if failures:
        if earlier is not None:
            failures.append(f"(A first launch had failed too: {earlier})")
        _write(result, {"traceback": "\n\n".join(failures)})
        return 1, None
    reached = sorted({label for result in results for label in result["witnesses_reached"]})
    _write(
        result,
        {
            "facts": _merged_facts(results),
            "seconds": max(r["seconds"] for r in results),
            "witnesses_reached": reached,
            "relaunched_after": earlier,
        },
    )
    return 0, None


def _reset(work: Path, as_copied: set[Path], temporary: Path) -> None:
    """Put the working folder back as the server copied it, and empty the temporary folder."""
    for path in sorted(set(work.rglob("*")) - as_copied, reverse=True):  # deepest first
        _remove(path)
    for path in temporary.iterdir():
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _run_rank(
    rank: int, ranks: int, port_pipe: int, display: str, script: Path, folder: Path, device: str, timeout: float
) -> None:
    status = 1
    try:
        snippet_child.capture_output(_output_file(folder, rank))
        random.seed()  # each of torchrun's workers is a fresh interpreter, seeded by the OS
        numpy.random.seed()
        with os.fdopen(port_pipe) as pipe:
            port = pipe.readline().strip()
        os.environ.update(_torchrun_environment(rank, ranks, port))
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        status = snippet_child.run_script(display, script, _result_file(folder, rank), device, timeout)
        if status == 0:
            _exit_as_python_does()
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def _exit_as_python_does() -> None:
    """End through the exit handlers, the collection of the script's objects and the C library's
    exit(), as a worker of torchrun does, rather than os._exit: a crash at that point (a C++
    thread still running when torch's objects are destroyed aborts the process) fails the run, as
    it would fail the reader's torchrun."""
    faulthandler.dump_traceback_later(run_outcome.EXIT_LIMIT, exit=True, file=sys.stderr)
    atexit._run_exitfuncs()
    sys.modules["__main__"].__dict__.clear()
    gc.collect()
    sys.stdout.flush()
    sys.stderr.flush()
    ctypes.PyDLL(None).exit(0)  # PyDLL: with the GIL held, as at the end of Py_Main


def _torchrun_environment(rank: int, ranks: int, port: str) -> dict[str, str]:
    """What `torchrun --nproc-per-node <ranks>` on one machine sets for each worker."""
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "GROUP_RANK": "0",
        "ROLE_RANK": str(rank),
        "ROLE_NAME": "default",
        "WORLD_SIZE": str(ranks),
        "LOCAL_WORLD_SIZE": str(ranks),
        "GROUP_WORLD_SIZE": "1",
        "ROLE_WORLD_SIZE": str(ranks),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": port,
        "TORCHELASTIC_RESTART_COUNT": "0",
        "TORCHELASTIC_MAX_RESTARTS": "0",
        "TORCHELASTIC_RUN_ID": "none",
        "TORCHELASTIC_USE_AGENT_STORE": "True",
        "TORCH_NCCL_ASYNC_ERROR_HANDLING": os.environ.get("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"),
        # torchrun sets it to 1 for several workers per machine unless the caller set it
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1" if ranks > 1 else str(torch.get_num_threads())),
    }


def _wait_for_ranks(pids: list[int], folder: Path) -> tuple[dict[int, int], dict[int, int]]:
    """Each rank's wait status, in the order they ended; and the ranks stopped after another failed
    (rank -> the rank whose failure stopped it)."""
    running = {os.pidfd_open(pid): (rank, pid) for rank, pid in enumerate(pids)}
    ended: list[tuple[tuple, int, int]] = []  # (order, rank, status)
    stopped: dict[int, int] = {}
    stop_at = None
    while running:
        wait = None if stop_at is None else max(0.0, stop_at - time.monotonic())
        readable, _, _ = select.select(list(running), [], [], wait)
        now = time.monotonic()
        for pidfd in readable:
            rank, pid = running.pop(pidfd)
            os.close(pidfd)
            status = os.waitpid(pid, 0)[1]
            ended.append((_end_order(now, rank, folder), rank, status))
            if status != 0 and stop_at is None:
                stop_at = now + run_outcome.GRACE
        if running and stop_at is not None and time.monotonic() >= stop_at:
            first_failure = min((order, rank) for order, rank, status in ended if status != 0)[1]
            for pidfd, (rank, pid) in running.items():
                stopped[rank] = first_failure
                _dump_stack(pid, _output_file(folder, rank))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                ended.append(((float("inf"), 0.0), rank, os.waitpid(pid, 0)[1]))
                os.close(pidfd)
            running.clear()
    return {rank: status for _, rank, status in sorted(ended)}, stopped


def _end_order(noticed: float, rank: int, folder: Path) -> tuple:
    """Ranks noticed ending at once (one failed, so its peer's collective failed) are ordered by
    when they wrote their result; a rank that wrote none (killed, exited) ended first."""
    result = _result_file(folder, rank)
    return (noticed, result.stat().st_mtime_ns if result.is_file() else 0)


def _dump_stack(pid: int, output: Path) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGUSR1)
    run_outcome.wait_for_stack_dump(output, seconds=2.0)


def _failures(
    display: str,
    timeout: float,
    statuses: dict[int, int],
    stopped: dict[int, int],
    outputs: list[str],
    results: list[dict | None],
) -> list[str]:
    failures = []
    for rank, status in statuses.items():  # in the order the ranks ended: the first failure first
        name = f"{display} (rank {rank})"
        if rank in stopped:
            where = run_outcome.last_lines(run_outcome.without_runner_frames(outputs[rank]), 20)
            failures.append(f"{name} was stopped after rank {stopped[rank]} failed. Where it was:\n{where}")
            continue
        failure = run_outcome.failure_of(name, timeout, status, outputs[rank], results[rank], timed_out=False)
        if failure is not None:
            failures.append(failure if failure.startswith(name) else f"{name} failed:\n{failure}")
    return failures


def _labelled(outputs: list[str]) -> str:
    """Every rank's lines, rank 0 first, each line marked with its rank as torch's own logs do."""
    return "".join(f"[rank{rank}]: {line}\n" for rank, output in enumerate(outputs) for line in output.splitlines())


def _merged_facts(results: list[dict]) -> dict[str, object]:
    """Rank 0's values by name (`total`), and every rank's as `total@rank1`."""
    merged = dict(results[0]["facts"])
    for rank, result in enumerate(results):
        merged.update({f"{name}@rank{rank}": value for name, value in result["facts"].items()})
    return merged


def _output_file(folder: Path, rank: int) -> Path:
    return folder / f"output.rank{rank}.txt"


def _result_file(folder: Path, rank: int) -> Path:
    return folder / f"result.rank{rank}.json"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _write(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")

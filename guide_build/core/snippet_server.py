"""A process that has imported torch once and runs each snippet in a fresh fork of itself.

    python -m guide_build.core.snippet_server      (started by guide_build.core.runner, never by hand)

Requests and answers are JSON lines on stdin and stdout. For each request the server forks a
child, which runs the snippet as `python snippets/<chapter>/<file>.py` would: in a throwaway
working directory holding a copy of the snippet's folder, with stdout and stderr (its threads'
and child processes' too) captured at the file-descriptor level, under a time limit. Nothing the
snippet does (global settings, hooks, threads, a changed directory, files it writes) reaches the
server, another snippet or the repository. The server never runs snippet code itself, and never
touches CUDA, so that every child starts from the same clean state and may use CUDA.

A run fails when the snippet raises (SystemExit too), exits before the end of its file, dies by a
signal, runs past its time limit, prints more than the output limit or leaves files behind.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Imported here once, so that no child pays for it.
import numpy  # noqa: F401
import torch  # noqa: F401
import torch.nn  # noqa: F401
import torch.optim  # noqa: F401

from guide_build.core import rank_launcher, run_outcome, snippet_child

snippet_child.torch_seeds_each_process()  # asked once, of the server's untouched default generator

_BACKSTOP = 15.0  # seconds past its stretched limit before the server kills a child whose own stops failed
_GROUP_EXIT_LIMIT = 5.0  # seconds to wait for the killed processes of a child's group to end
_FIGURE_LIMIT = 400_000  # bytes: a figure is part of its page
_RESULT = "result.json"
_OUTPUT = "output.txt"
_WORK = "root"
_FROZEN = "tmp"


# Modules a child would otherwise import itself (about a second for torch._dynamo, which an
# optimizer's first step imports, and so do DDP's constructor, FSDP2 and DTensor; a process group
# alone does not), imported by the server before it forks the first child whose folder mentions
# one of the words: a build of a few small snippets does not pay for them. A word missed costs
# that child the import, never a different output.
_IMPORTED_WHEN_USED = {
    "torch._dynamo": (
        *("optim", "compile", "export", "dynamo", "custom_op", "library"),
        *("DistributedDataParallel", "fully_shard", "distributed.tensor", "DTensor", "device_mesh"),
        "torch.func",  # its grad, jacrev and hessian import Dynamo at their first call
    ),
    # The compiler's first use (torch.compile, opcheck, export) imports some 600 more modules.
    "torch._inductor.compile_fx": ("torch.compile", ".compile(", "opcheck", "aot_autograd", "torch.export"),
    "matplotlib.pyplot": ("matplotlib",),  # figures; each snippet chooses the backend, lazily
}


@dataclass
class _Job:
    id: int
    display: str
    pid: int
    pidfd: int
    folder: Path
    deadline: float
    timeout: float
    output_limit: int
    copied: set[str]
    figures: list[str]  # the SVG files the snippet declares (`# guide: figure=`), in its working directory
    started: float


def main() -> None:
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # A child unblocks it once its stack dump is set up: a hang found earlier is dumped, not fatal.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing else may write answers
    jobs: dict[int, _Job] = {}
    try:
        answers.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
        _serve(sys.stdin.buffer.fileno(), answers, jobs)
    except BrokenPipeError:
        pass  # the build or the tests went away: stop their snippets too
    finally:
        for job in jobs.values():
            _kill_group(job.pid)


def _serve(requests: int, answers, jobs: dict[int, _Job]) -> None:
    """Start a child per request line; answer each when its child ends or its time is up. Ends
    when the requests are closed and every child has been answered."""
    buffered, open_input = b"", True
    while open_input or jobs:
        waiting = [job.pidfd for job in jobs.values()] + ([requests] if open_input else [])
        next_deadline = min((job.deadline for job in jobs.values()), default=time.monotonic() + 60)
        readable, _, _ = select.select(waiting, [], [], max(0.0, next_deadline - time.monotonic()))
        if requests in readable:
            chunk = os.read(requests, 65536)
            open_input = bool(chunk)
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                request = json.loads(line)
                try:
                    job = _start(request)
                except (OSError, UnsafeFork) as error:  # its folder vanished, say: that run fails, the rest go on
                    answers.write(
                        json.dumps(_refusal(request, f"{request['path']} could not be started: {error}")) + "\n"
                    )
                    continue
                jobs[job.pidfd] = job
        now = time.monotonic()
        for job in list(jobs.values()):
            if job.pidfd in readable or now >= job.deadline:
                answers.write(json.dumps(_finish(job, timed_out=job.pidfd not in readable)) + "\n")
                del jobs[job.pidfd]


def _refusal(request: dict, message: str) -> dict:
    return {"id": request["id"], "output": "", "facts": {}, "seconds": 0.0, "failure": message}


class UnsafeFork(RuntimeError):
    """The server's state would reach the child: it must not fork."""


def _check_fork_is_safe() -> None:
    # A fork of a process that has initialised CUDA cannot use CUDA, and a "cpu" run hides the
    # devices only from a CUDA that starts after the fork (snippet_child): a module the server
    # imports must never touch CUDA. Said here, rather than as a child's puzzling CUDA error.
    if torch.cuda.is_initialized():
        raise UnsafeFork("the snippet server has initialised CUDA, so a forked child could not use it")


def _copy_its_folder(folder: Path, copy: Path) -> None:
    """The snippet's folder, for the helper modules beside it: its files only, as a chapter's
    folder holds (a snippet kept in the temporary folder would otherwise copy this copy into itself)."""
    copy.mkdir(parents=True)
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, copy / path.name)


def _start(request: dict) -> _Job:
    _check_fork_is_safe()
    display = request["path"]
    source = Path(display).resolve()
    folder = Path(tempfile.mkdtemp(prefix="guide-snippet-"))
    work = folder / _WORK
    copy_dir = work / Path(display).parent if not Path(display).is_absolute() else work / "snippet"
    _copy_its_folder(source.parent, copy_dir)
    copied = {path.relative_to(work).as_posix() for path in work.rglob("*")}
    (folder / _FROZEN).mkdir()
    (folder / _OUTPUT).touch()
    _import_what_it_uses(copy_dir)
    timeout = float(request["timeout"])
    # A collection in the child would walk every object the server holds (torch's hundreds of
    # thousands), and writing to each copies its memory page from the server: a third of a short
    # snippet's time. Frozen, they are left alone (the child's own objects are collected as usual).
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        run = dict(
            display=display,
            script=copy_dir / source.name,
            work=work,
            temporary=folder / _FROZEN,
            output=folder / _OUTPUT,
            result=folder / _RESULT,
            device=request["device"],
            timeout=timeout,
        )
        if request.get("ranks"):
            rank_launcher.run(**run, ranks=request["ranks"])
        snippet_child.run(**run)
    started = time.monotonic()
    return _Job(
        id=request["id"],
        display=display,
        pid=pid,
        pidfd=os.pidfd_open(pid),
        folder=folder,
        deadline=started + run_outcome.longest_run(timeout, bool(request.get("ranks"))) + _BACKSTOP,
        timeout=timeout,
        output_limit=int(request["output_limit"]),
        copied=copied,
        figures=list(request.get("figures", [])),
        started=started,
    )


def _import_what_it_uses(folder: Path) -> None:
    missing = {name: words for name, words in _IMPORTED_WHEN_USED.items() if name not in sys.modules}
    if not missing:
        return
    text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in folder.rglob("*.py"))
    for name, words in missing.items():
        if any(word in text for word in words):
            importlib.import_module(name)


def _finish(job: _Job, *, timed_out: bool) -> dict:
    if timed_out:
        _dump_stacks_then_kill(job.pid, job.folder / _OUTPUT)
    _, status = os.waitpid(job.pid, 0)
    seconds = time.monotonic() - job.started
    _kill_group(job.pid)  # processes the snippet started and left running
    os.close(job.pidfd)
    try:
        output = (job.folder / _OUTPUT).read_text(encoding="utf-8", errors="replace")
        result_file = job.folder / _RESULT
        result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else None
        left_behind = _left_behind(job)
        figures = {name: _read_figure(job.folder / _WORK / name) for name in job.figures}
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)
    output = output.replace(str(job.folder / _WORK) + os.sep, "")
    answer = {
        "id": job.id,
        "output": output,
        "facts": {},
        "seconds": seconds,
        "failure": None,
        "witnesses_reached": [],
        "figures": {},
    }
    answer["failure"] = _failure(job, status, output, result, left_behind, timed_out)
    missing = [name for name, figure in figures.items() if figure is None]
    if answer["failure"] is None and missing:
        answer["failure"] = (
            f"{job.display} declares the figure {missing[0]} (`# guide: figure=`) but did not save it "
            f"in its working directory, or saved more than {_FIGURE_LIMIT:,} bytes."
        )
    if answer["failure"] is None:
        answer["figures"] = figures
        answer["facts"] = result["facts"]
        answer["witnesses_reached"] = result["witnesses_reached"]
        answer["relaunched_after"] = result.get("relaunched_after")
    return answer


def _failure(job: _Job, status: int, output: str, result: dict | None, left: list[str], timed_out: bool) -> str | None:
    ended = run_outcome.failure_of(job.display, job.timeout, status, output, result, timed_out)
    if ended is not None:
        return ended
    if len(output.encode()) > job.output_limit:
        return (
            f"{job.display} printed {len(output.encode()):,} bytes, more than the limit of {job.output_limit:,}: "
            "a page shows what a snippet prints, so print a summary."
        )
    if left:
        shown = ", ".join(left[:10]) + (" ..." if len(left) > 10 else "")
        return (
            f"{job.display} left files behind in its working directory: {shown}. A reader who runs it from "
            "the repository would find them in the tree: write to tempfile.TemporaryDirectory() or io.BytesIO."
        )
    return None


def _left_behind(job: _Job) -> list[str]:
    work = job.folder / _WORK
    present = {path.relative_to(work).as_posix() for path in work.rglob("*") if not path.is_dir()}
    return sorted(present - job.copied - set(job.figures))


def _read_figure(path: Path) -> str | None:
    if not path.is_file() or path.stat().st_size > _FIGURE_LIMIT:
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def _dump_stacks_then_kill(pid: int, output: Path) -> None:
    """Ask the child to write where each thread is (faulthandler), then kill it and its group."""
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        return
    run_outcome.wait_for_stack_dump(output, seconds=5.0)
    _kill_group(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_group(pid: int) -> None:
    """Kill what is left of the child's process group, and wait until it is gone: SIGKILL takes
    effect when the kernel next runs each process, which on a busy machine is not at once."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return  # nothing was left
    deadline = time.monotonic() + _GROUP_EXIT_LIMIT
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs (a zombie, dead and waiting to be reaped, does not)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            state, _, process_group = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(process_group) == group and state != "Z":
            return True
    return False


if __name__ == "__main__":
    main()

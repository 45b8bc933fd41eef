"""How a process that ran a snippet ended, in words: the failure message, or None for success.

Shared by the snippet server (one process per snippet) and the rank launcher (one per rank of a
distributed snippet), so that a hang, a crash or an early exit reads the same in both.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import time
from pathlib import Path

from guide_build.core.time_limit import HARD_STOP_AFTER, MAX_STRETCH

TIMEOUT_HEADER = "Timeout ("  # how faulthandler's watchdog starts its report
EXIT_LIMIT = 10.0  # seconds a rank may take to exit after its script ended (rank_launcher)
GRACE = 2.0  # seconds the other ranks get to end on their own after one failed (rank_launcher)
_EXIT_LIMIT_HEADER = f"{TIMEOUT_HEADER}{datetime.timedelta(seconds=EXIT_LIMIT)})!"  # faulthandler's line for it
_STUCK = f"was still exiting after {EXIT_LIMIT:g} s, and was stopped"
_GLOO_RACE_ENDINGS = (f"{_STUCK}.", f"signal SIGABRT ({signal.SIGABRT.value}) while exiting.")
_EXITING_FRAME = "_exit_as_python_does"  # the runner's frame that names the step of the exit
_THREAD_HEADER = re.compile(r"(Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):$")
_NO_FRAME = "  <no Python frame>"
_RUNNER_FOLDER = str(Path(__file__).parent)


def longest_run(timeout: float, distributed: bool) -> float:
    """Seconds a run may take before the server stops it, and past which the runner stops waiting
    (each adds its own margin): the stretched limit, and for a distributed snippet two launches
    (rank_launcher relaunches after gloo's race at exit), each with its ranks' exits."""
    if not distributed:
        return timeout * MAX_STRETCH
    return 2 * (timeout * MAX_STRETCH + HARD_STOP_AFTER + EXIT_LIMIT + GRACE)


def failure_of(
    display: str, timeout: float, status: int, output: str, result: dict | None, timed_out: bool
) -> str | None:
    """Why the process failed (`status` as os.waitpid gives it), or None if it ran to the end."""
    if timed_out or (result is None and TIMEOUT_HEADER in output):
        # faulthandler's own header gives the last interval it was armed for, not the limit
        shown = "\n".join(line for line in output.split("\n") if not line.startswith(TIMEOUT_HEADER))
        return (
            f"{display} ran past its time limit of {timeout:g} s and was stopped. Where it was:\n"
            f"{last_lines(without_runner_frames(shown), 30)}\n"
            "(A slow snippet sets a longer limit with a comment line `# guide: timeout=<seconds>`.)"
        )
    if result is not None and not result.get("traceback") and status != 0:
        return _failed_while_exiting(display, status, output)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"{display} was killed by signal {signal.Signals(number).name} ({number}).\n{last_lines(output, 20)}"
    if result is None:
        return (
            f"{display} exited with status {os.WEXITSTATUS(status)} before reaching the end of the file "
            f"(os._exit or a crash).\n{last_lines(output, 20)}"
        )
    return result.get("traceback") or None


def failed_as_gloo_can_at_exit(failure: str) -> bool:
    """Stuck or aborted after the end of the file: what gloo's rare race at exit does to a rank
    (docs/distributed/ddp.md), as opposed to an exit handler that fails."""
    return cause_of(failure).endswith(_GLOO_RACE_ENDINGS)


def cause_of(failure: str) -> str:
    """A failure's first sentence, without the stack that follows it."""
    return failure.split("\n", 1)[0].removesuffix(" Where it was:")


def _failed_while_exiting(display: str, status: int, output: str) -> str:
    """A rank ends through Python's exit (rank_launcher), where exit handlers and the objects freed
    at exit can still fail, hang or crash."""
    lines = output.split("\n")
    if _EXIT_LIMIT_HEADER in lines:  # the exit limit's stack dump: where the exit was stuck
        dump = lines[len(lines) - lines[::-1].index(_EXIT_LIMIT_HEADER) :]  # after its last header
        where = "\n".join(
            line for line in dump if (_RUNNER_FOLDER not in line or _EXITING_FRAME in line) and "<frozen " not in line
        )
        return f"{display} reached the end of the file, then {_STUCK}. Where it was:\n{last_lines(where, 30)}"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        how = f"was killed by signal {signal.Signals(number).name} ({number})"
    else:
        how = f"ended with status {os.WEXITSTATUS(status)}"
    return f"{display} reached the end of the file, then {how} while exiting.\n{last_lines(output, 30)}"


def without_runner_frames(output: str) -> str:
    """faulthandler lists the runner's own frames under the snippet's: keep the snippet's, and drop
    the header of a thread left with no frame (the runner's own, such as its time limit's)."""
    lines = [line for line in output.split("\n") if _RUNNER_FOLDER not in line and "<frozen " not in line]
    kept = []
    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if _THREAD_HEADER.match(line) and not following.startswith("  File "):
            continue
        if line == _NO_FRAME:
            continue  # the body of such a header (a thread caught between frames, such as the limit's own)
        kept.append(line)
    return "\n".join(kept)


def last_lines(output: str, count: int) -> str:
    return "\n".join(output.rstrip("\n").split("\n")[-count:])


def wait_for_stack_dump(output: Path, seconds: float) -> None:
    """Wait until the stack dump that SIGUSR1 asked of a process (faulthandler) is in `output` and
    has stopped growing, or `seconds` have passed: a loaded machine can take a while to schedule
    it, and a process killed in the middle of it leaves a cut report without the snippet's line."""
    deadline = time.monotonic() + seconds
    size, steady_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        written = output.read_bytes() if output.is_file() else b""
        if len(written) != size:
            size, steady_since = len(written), time.monotonic()
        elif b"most recent call first" in written and time.monotonic() - steady_since > 0.2:
            return
        time.sleep(0.02)

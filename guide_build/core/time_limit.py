"""A snippet's time limit, on a clock that stops while the snippet waits for a free CPU.

A limit in plain wall-clock seconds judges the machine rather than the snippet: with three runs
sharing two cores (the build beside two test workers), examples that finish well inside 10 s
were stopped at 10 s, failing a build that had nothing wrong with it. So the clock counts
the time the snippet's main thread runs or waits for something (a lock, a peer, a file), and not
the time it is ready to run while the CPU serves another process (Linux's run-queue delay, read
from /proc; elsewhere the clock is the wall clock). A busy loop and a deadlock are both stopped
after `seconds`; however loaded the machine, nothing runs past `seconds * MAX_STRETCH` (plus
HARD_STOP_AFTER) of wall time.

A low-level thread (started with `_thread`, so `threading.enumerate()` in the snippet does not
list it, and the report of a time-out leaves it out) keeps the clock. When the limit passes, it
writes down where every thread is and stops the process only if that shows a frame of the
snippet's file: so the report names the snippet's line, and a snippet that raised just as its
limit passed (a rank whose peer was stopped a moment before) is left to report its own traceback
instead of a stack that no longer holds its line. Code that never lets that thread run (a C call
that keeps the GIL), or that runs past its limit with no frame of the snippet on any stack (a
thread started on a library function), is stopped HARD_STOP_AFTER seconds later by faulthandler's
C thread, which needs no GIL and writes the same kind of report.
"""

from __future__ import annotations

import _thread
import datetime
import faulthandler
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

MAX_STRETCH = 4.0  # the most that waiting for a CPU may lengthen a limit, as a factor of wall time
HARD_STOP_AFTER = 2.0  # seconds past the limit before faulthandler's C thread stops the process
_CHECK_EVERY = 0.2  # seconds between two readings of the run-queue delay


def start(seconds: float, report: TextIO, code_file: str) -> Callable[[], None]:
    """Start the limit for the calling thread, for code compiled under the name `code_file`;
    returns the function that cancels it."""
    waited = _run_queue_delay(threading.get_native_id())
    started = time.monotonic()
    lock = threading.Lock()
    state = {"running": True}
    faulthandler.dump_traceback_later(seconds + HARD_STOP_AFTER, exit=True, file=report)

    def keep_the_clock() -> None:
        armed = seconds
        while True:
            allowed = min(seconds + waited(), seconds * MAX_STRETCH)
            now = time.monotonic()
            with lock:
                if not state["running"]:
                    return
                if now >= started + allowed:
                    # First where every thread is, then the decision: checked the other way round,
                    # the snippet could raise in between and leave a stack without its line.
                    stacks = _stacks()
                    if _frame_of(code_file) in stacks:
                        _stop(report, seconds, stacks)
                if allowed - armed >= _CHECK_EVERY / 4:  # re-arming starts a new C thread: not for nothing
                    hard_stop = started + allowed + HARD_STOP_AFTER - now
                    faulthandler.dump_traceback_later(hard_stop, exit=True, file=report)
                    armed = allowed
            time.sleep(min(_CHECK_EVERY, max(started + allowed - now, _CHECK_EVERY / 4)))

    def cancel() -> None:
        with lock:
            state["running"] = False
            faulthandler.cancel_dump_traceback_later()

    _thread.start_new_thread(keep_the_clock, ())
    return cancel


def _stacks() -> str:
    """Where every thread is, as faulthandler writes it (to a file: it writes to a descriptor)."""
    with tempfile.TemporaryFile() as scratch:
        faulthandler.dump_traceback(scratch.fileno(), all_threads=True)
        scratch.seek(0)
        return scratch.read().decode("utf-8", errors="replace")


def _frame_of(code_file: str) -> str:
    """How faulthandler starts a frame of the file: non-ASCII escaped, cut after 500 characters."""
    return 'File "' + code_file.encode("ascii", "backslashreplace").decode("ascii")[:500]


def _stop(report: TextIO, seconds: float, stacks: str) -> None:
    """Write the stacks under the header faulthandler's own watchdog writes, and end the process."""
    # Straight to the file descriptor, as faulthandler writes: the snippet may hold the stream's lock.
    os.write(report.fileno(), f"Timeout ({datetime.timedelta(seconds=seconds)})!\n{stacks}".encode())
    os._exit(1)


def _run_queue_delay(thread_id: int) -> Callable[[], float]:
    """Seconds the thread has waited for a CPU since this call; always 0 where /proc does not say."""
    stats = Path(f"/proc/self/task/{thread_id}/schedstat")

    def delay() -> float:
        try:
            return int(stats.read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    first = delay()
    return lambda: delay() - first

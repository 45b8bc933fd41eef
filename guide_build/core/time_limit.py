"""A snippet's time limit, on a clock that stops while the snippet waits for a free CPU.

A limit in plain wall-clock seconds judges the machine rather than the snippet: with three runs
sharing two cores (the build beside two test workers), examples that finish well inside 10 s
were stopped at 10 s, failing a build that had nothing wrong with it. So the clock counts
the time the snippet's main thread runs or waits for something (a lock, a peer, a file), and not
the time it is ready to run while the CPU serves another process (Linux's run-queue delay, read
from /proc; elsewhere the clock is the wall clock). A busy loop and a deadlock are both stopped
after `seconds`; however loaded the machine, nothing runs past `seconds * MAX_STRETCH` of wall time.

When the limit passes, faulthandler's C thread writes the stack of every thread (so the report
names the snippet's line) and ends the process, however stuck its code is. A second, low-level
thread moves that deadline later by the time the main thread spent waiting for a CPU (only the
main thread's: a rank waiting for a starved peer, or for its own subprocesses, waits on the
wall clock). That thread is started with `_thread`, so `threading.enumerate()` in the snippet
does not list it, and the report of a time-out leaves it out (run_outcome).
"""

from __future__ import annotations

import _thread
import faulthandler
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

MAX_STRETCH = 4.0  # the most that waiting for a CPU may lengthen a limit, as a factor of wall time
_CHECK_EVERY = 0.2  # seconds between two readings of the run-queue delay


def start(seconds: float, report: TextIO) -> Callable[[], None]:
    """Start the limit for the calling thread; returns the function that cancels it."""
    waited = _run_queue_delay(threading.get_native_id())
    started = time.monotonic()
    lock = threading.Lock()
    state = {"running": True}
    faulthandler.dump_traceback_later(seconds, exit=True, file=report)

    def move_the_deadline() -> None:
        armed = seconds
        while True:
            time.sleep(_CHECK_EVERY)
            allowed = min(seconds + waited(), seconds * MAX_STRETCH)
            with lock:
                if not state["running"]:
                    return
                if allowed - armed >= _CHECK_EVERY / 4:  # re-arming starts a new C thread: not for nothing
                    remaining = max(started + allowed - time.monotonic(), 0.001)
                    faulthandler.dump_traceback_later(remaining, exit=True, file=report)
                    armed = allowed

    def cancel() -> None:
        with lock:
            state["running"] = False
            faulthandler.cancel_dump_traceback_later()

    _thread.start_new_thread(move_the_deadline, ())
    return cancel


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

"""What the pytest-xdist workers of one test session share: the site build and the snippet runs.

The strict build of the site starts in the background as soon as a worker has collected a test
that needs it, so the workers run the other tests meanwhile instead of waiting for it. Each
snippet is run once per session and device, by whichever worker needs it first; the others read
that run from disk. (Without xdist the same code serves one process.) A run on the build's device
whose cached run a fresh run has confirmed before is read from the cache, except for a sample
drawn anew each session, run again to check the cache (`Reuse`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pytest
from filelock import FileLock, Timeout
from site_build import build_command, problems_last

from guide_build.core import cache
from guide_build.core.runner import SnippetFailed, SnippetRun, run_snippet

_SITE_TIMEOUT = 900.0


def shared_dir(config: pytest.Config) -> Path:
    """A folder all workers of this session see (the session's base temporary folder)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def start_site_build(shared: Path, root: Path) -> None:
    """Start `mkdocs build --strict` into shared/site unless a worker has started it already."""
    with FileLock(str(shared / "site.lock")):
        started = shared / "site-build.started"
        if started.exists():
            return
        started.touch()
    command, environment = build_command(shared / "site")
    output = (shared / "site-build.output").open("w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=root, env=environment, stdout=output, stderr=subprocess.STDOUT)

    def record_when_done() -> None:
        try:
            returncode = process.wait(timeout=_SITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = f"timeout: the build ran past {_SITE_TIMEOUT:g} s"
        output.close()
        log = (shared / "site-build.output").read_text(encoding="utf-8", errors="replace")
        temporary = shared / "site-build.log.tmp"
        temporary.write_text(f"{returncode}\n{problems_last(log)}", encoding="utf-8")
        temporary.replace(shared / "site-build.log")

    # Not a daemon: the worker that started the build waits for it before it exits.
    threading.Thread(target=record_when_done, name="site-build").start()


def site_build_running(shared: Path) -> bool:
    return (shared / "site-build.started").exists() and not (shared / "site-build.log").exists()


def wait_for_site(shared: Path, root: Path) -> Path:
    start_site_build(shared, root)  # in case no worker did (a test run by name)
    log = shared / "site-build.log"
    deadline = time.monotonic() + _SITE_TIMEOUT + 30
    while not log.is_file():
        if time.monotonic() > deadline:
            pytest.fail("the site build did not finish", pytrace=False)
        time.sleep(0.2)
    returncode, _, output = log.read_text(encoding="utf-8").partition("\n")
    assert returncode == "0", f"mkdocs build --strict failed:\n{output}"
    return shared / "site"


SAMPLE_EVERY = 10  # a session runs again about one in this many confirmed snippets


@dataclass(frozen=True)
class Reuse:
    """Which runs a session may read from the cache: on the build's device (`device`), those a
    fresh run confirmed earlier (guide_build.core.cache.confirm), but for a sample that this
    session's `seed` draws. `enabled` is False to run everything again (--fresh-runs, --record-gpu,
    and on a CUDA machine, whose driver the cache key does not cover)."""

    device: str
    seed: str
    enabled: bool = True

    def allows(self, path: str, device: str) -> bool:
        return self.stands_in(device) and not self.sampled(path)

    def stands_in(self, device: str) -> bool:
        """Whether a confirmed run on `device` may stand in for a fresh one at all."""
        return self.enabled and device == self.device

    def sampled(self, path: str) -> bool:
        return self._draw(path) % SAMPLE_EVERY == 0

    def first_drawn(self, names: Iterable[str]) -> str:
        """The one of `names` this session's seed draws first: a sample of exactly one."""
        return min(names, key=self._draw)

    def _draw(self, name: str) -> int:
        return int(hashlib.sha256(f"{self.seed} {name}".encode()).hexdigest(), 16)


def session_seed(shared: Path) -> str:
    """A random seed for this session's sample, the same in every worker (GUIDE_SAMPLE_SEED sets it)."""
    with FileLock(str(shared / "sample-seed.lock")):
        seed = shared / "sample-seed"
        if not seed.is_file():
            seed.write_text(os.environ.get("GUIDE_SAMPLE_SEED") or os.urandom(8).hex(), encoding="utf-8")
        return seed.read_text(encoding="utf-8")


def make_runs_ahead(store: SharedRuns, runs: list[tuple[str, str]]) -> Callable[[], None]:
    """Make these runs (path, device) in order, in a thread, skipping those that another worker
    has taken; return the function that stops it after the run in hand. Every worker does so
    for the runs of the whole session: they share the runs between them as they go, where their
    tests, asking for the same runs at the same moments, would keep one waiting for the other."""
    stopping = threading.Event()

    def make() -> None:
        for path, device in runs:
            if stopping.is_set():
                return
            if Path(path).is_file():  # a claim naming a missing file: its test says so
                store.make_unless_taken(path, device)

    thread = threading.Thread(target=make, name="runs-ahead", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop


class SharedRuns:
    """Snippet runs made once per session and device, whichever worker asks first.

    A snippet whose cached run is not confirmed yet, and that its chapter's notebook runs
    (`checked_by_notebook`), is not run again in a process of its own: the session reads the
    build's run, once the build has made it, and tests/test_snippets.py compares that with the
    snippet's cell in the notebook's run (tests/notebook_runs.py), the second run the notebook test
    makes anyway. Only if the two disagree does it run the snippet again on its own."""

    _read_already: dict[Path, dict] = {}  # this process's: a run never changes

    def __init__(self, shared: Path, reuse: Reuse, checked_by_notebook: Callable[[str], bool] = lambda path: False):
        self.shared = shared
        self.folder = shared / "snippet-runs"
        self.folder.mkdir(exist_ok=True)
        self.reuse = reuse
        self.checked_by_notebook = checked_by_notebook

    def get(self, path: str, device: str) -> SnippetRun | SnippetFailed:
        return self._parse(self._stored(path, device))

    def was_fresh(self, path: str, device: str) -> bool:
        """Whether this session ran the snippet, rather than read a run from the cache."""
        return self._stored(path, device).get("fresh", True)

    def second_run(self, path: str, device: str) -> str:
        """How this session checks the cached run that the pages show: "fresh" (the session's run
        is the second), "notebook" (the session read the build's run; the notebook's cell is the
        second) or "confirmed" (an earlier session's second run agreed)."""
        stored = self._stored(path, device)
        return "fresh" if stored.get("fresh", True) else stored.get("second_run", "confirmed")

    def _stored(self, path: str, device: str) -> dict:
        entry, lock = self._files(path, device)
        if entry in self._read_already:  # a thousand claims and witnesses ask for the same runs
            return self._read_already[entry]
        with FileLock(str(lock)):
            if not entry.is_file():
                self._make(entry, path, device)
        self._read_already[entry] = json.loads(entry.read_text(encoding="utf-8"))
        return self._read_already[entry]

    def make_unless_taken(self, path: str, device: str) -> None:
        """Make this run, unless it is made already or another thread or worker is making it, or
        it is the build's to make."""
        entry, lock = self._files(path, device)
        if entry.is_file() or self._read_from_build(path, device):
            return
        try:
            with FileLock(str(lock), timeout=0):
                if not entry.is_file():
                    self._make(entry, path, device)
        except Timeout:
            pass

    def _make(self, entry: Path, path: str, device: str) -> None:
        """Written whole, then renamed: `all()` reads without the lock."""
        temporary = entry.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._run(path, device)), encoding="utf-8")
        temporary.replace(entry)

    def _files(self, path: str, device: str) -> tuple[Path, Path]:
        name = hashlib.sha256(f"{device} {path}".encode()).hexdigest()[:24]
        return self.folder / f"{name}.json", self.folder / f"{name}.lock"

    def all(self) -> list[dict]:
        """Every run of the session as stored: "run" or "failure", and "fresh"."""
        return [json.loads(entry.read_text(encoding="utf-8")) for entry in sorted(self.folder.glob("*.json"))]

    def _run(self, path: str, device: str) -> dict:
        if self.reuse.allows(path, device) and (confirmed := cache.confirmed_run(path, device)):
            return {"run": asdict(confirmed), "fresh": False}
        if self._read_from_build(path, device) and (built := self._build_run(path)):
            return {"run": asdict(replace(built, device=device)), "fresh": False, "second_run": "notebook"}
        try:
            run = run_snippet(path, device=device)
        except SnippetFailed as failure:
            cache.withdraw(path, device)  # a run confirmed once, failing now: not read again
            return {"failure": [failure.path, failure.traceback_text, failure.output, device]}
        return {"run": asdict(run), "fresh": True}

    def _read_from_build(self, path: str, device: str) -> bool:
        return self.reuse.stands_in(device) and not cache.confirmed_run(path, device) and self.checked_by_notebook(path)

    def _build_run(self, path: str) -> SnippetRun | None:
        """The site build's run of the snippet, once the build has made it; None if the build ends
        without it (the snippet failed there), or no build runs in this session."""
        while (built := cache.lookup(path)) is None and site_build_running(self.shared):
            time.sleep(0.1)
        return built or cache.lookup(path)

    @staticmethod
    def _parse(stored: dict) -> SnippetRun | SnippetFailed:
        if "run" in stored:
            return SnippetRun(**stored["run"])
        path, traceback_text, output, _ = stored["failure"]
        return SnippetFailed(path, traceback_text, output)

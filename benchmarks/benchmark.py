"""Measure how long the guide takes to build, rebuild and test; print medians as a table.

    .venv/bin/python benchmarks/benchmark.py [--runs 3] [--serve-runs 9] [--test-runs 3]

Measured, each as the median of several runs, in a fresh copy of the guide (so caches are cold
when they should be):

- cold `mkdocs build --strict`: no cached snippet runs, no cached notebook renderings; the pages,
  notebooks and search index of the cold builds are compared byte for byte;
- the time spent executing snippets in that build, and the rest;
- a build that executes nothing: as cold, but with every snippet run cached (it still imports
  torch once, as every build of the site does, to know the environment);
- the floor for a cold build: that build + running each snippet once (target: cold build
  <= 1.3 x floor);
- a build with every cache warm, and `mkdocs serve` (as `make serve` runs it) started right after
  a build of the same tree, until it serves: it renders no notebook page again (target: no slower
  than the warm build);
- the weight of the rendered notebook pages (HTML bytes per page; their styles are one shared file);
- with `mkdocs serve` running as `make serve` runs it, from saving a file to the browsers being
  told to reload (each save at a random point of the server's 0.5 s polling cycle): after editing
  one snippet, and after editing it back, which rebuilds the same page and notebook but executes
  nothing (targets: <= 1.5 s, and <= 1.2 x the rebuild that executes nothing);
- the same after editing the snippet of the slowest figure (target: <= 1.5 s);
- the CPU test suite, `pytest` (target: <= 90 s), cold and warm: cold with empty snippet-run and
  notebook caches (as on a clean clone in CI: its strict build runs every snippet), warm right
  after a cold run, with its caches (a contributor's next run: the build runs none). Each run uses
  caches of its own in a temporary folder, not the repository's .cache.

A benchmark, not a test: it prints figures and never fails on machine noise.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("docs", "snippets", "guide_build", "mkdocs.yml", "constraints.txt")  # the pin: release marks
SNIPPET_RUNS = Path(".cache") / "snippet-runs"
# Each copy keeps its own caches in its .cache/ folder, even if the caller's points elsewhere.
ENV = {**{k: v for k, v in os.environ.items() if k != "GUIDE_NOTEBOOK_CACHE_DIR"}, "NO_MKDOCS_2_WARNING": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per build measurement")
    parser.add_argument("--serve-runs", type=int, default=9, help="edits per serve measurement (one rebuild is noisy)")
    parser.add_argument("--test-runs", type=int, default=3, help="runs of the test suite (0 to skip)")
    args = parser.parse_args()

    torch_import = median(timed([sys.executable, "-c", "import torch"]) for _ in range(args.runs))
    cold, executing, no_execution, warm, serve_start, snippet_runs = [], [], [], [], [], 0
    first_site: dict[str, bytes] | None = None
    identical_sites = True
    for _ in range(args.runs):
        with fresh_copy() as copy:
            cold.append(timed(mkdocs_build(copy), cwd=copy))
            site = published_pages(copy / "site")
            first_site = first_site if first_site is not None else site
            identical_sites = identical_sites and site == first_site
            runs = cached_runs(copy)
            executing.append(sum(run["seconds"] for run in runs))
            snippet_runs = len(runs)
            warm.append(timed(mkdocs_build(copy), cwd=copy))
            serve_start.append(serve_start_time(copy))
            with fresh_copy() as second:  # a cold build whose snippet runs are all cached
                shutil.copytree(copy / SNIPPET_RUNS, second / SNIPPET_RUNS)
                no_execution.append(timed(mkdocs_build(second), cwd=second))
    executed, cached = serve_rebuilds(args.serve_runs, PLAIN_SNIPPET)
    figure_executed, _ = serve_rebuilds(args.serve_runs, FIGURE_SNIPPET)
    floor = median(no_execution) + median(executing)

    rows = [
        ("import torch", torch_import, "for reference"),
        (
            "cold strict build",
            median(cold),
            f"{median(cold) / floor:.2f} x floor (target <= 1.3); "
            f"the {args.runs} cold builds' pages {'are byte-identical' if identical_sites else 'DIFFER'}",
        ),
        ("  of which executing snippets", median(executing), f"{snippet_runs} snippet runs"),
        ("  of which the rest", median(cold) - median(executing), ""),
        ("build executing nothing", median(no_execution), "cold, but every snippet run cached; imports torch once"),
        ("floor: build executing nothing + snippets", floor, ""),
        ("build with every cache warm", median(warm), "snippet runs and notebook renderings"),
        (
            "serve: start right after a build",
            median(serve_start),
            f"{median(serve_start) / median(warm):.2f} x the warm build (target <= 1.0); until it serves",
        ),
        ("notebook pages: weight", None, notebook_weight(first_site)),
        ("serve: save to reload, snippet edited back", median(cached), "its run is cached: executes nothing"),
        (
            "serve: save to reload, snippet edited",
            median(executed),
            f"{median(executed) / median(cached):.2f} x the rebuild executing nothing (targets <= 1.5 s, <= 1.2 x)",
        ),
        (
            "serve: save to reload, figure's snippet edited",
            median(figure_executed),
            f"{Path(FIGURE_SNIPPET).name}, the slowest figure (target <= 1.5 s)",
        ),
    ]
    if args.test_runs:
        cold_tests, warm_tests = test_suite_times(args.test_runs)
        rows.append(("CPU test suite (pytest), cold caches", cold_tests, "as on a clean clone (target <= 90 s)"))
        rows.append(("CPU test suite (pytest), warm caches", warm_tests, "a second run (target <= 90 s)"))
    print_table(rows, args)


def test_suite_times(runs: int) -> tuple[float, float]:
    """Medians of `runs` cold runs of the suite and of the warm run after each."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as caches:
            env = {"GUIDE_CACHE_DIR": f"{caches}/snippet-runs", "GUIDE_NOTEBOOK_CACHE_DIR": f"{caches}/notebook-pages"}
            cold.append(timed(command, env=env))
            warm.append(timed(command, env=env))
    return median(cold), median(warm)


def timed(command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env={**ENV, **(env or {})}, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0,):
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def mkdocs_build(copy: Path) -> list[str]:
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(copy / "site")]


class fresh_copy:
    """A temporary copy of the guide's sources, with no caches."""

    def __enter__(self) -> Path:
        self.folder = Path(tempfile.mkdtemp(prefix="guide-bench-"))
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, self.folder / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, self.folder / name)
        return self.folder

    def __exit__(self, *_) -> None:
        shutil.rmtree(self.folder)


def published_pages(site: Path) -> dict[str, bytes]:
    """The pages, notebooks and search index of a built site, by path (sitemap dates aside)."""
    return {
        path.relative_to(site).as_posix(): path.read_bytes()
        for path in sorted(site.rglob("*"))
        if path.suffix in (".html", ".ipynb", ".json") and path.is_file()
    }


def notebook_weight(site_pages: dict[str, bytes]) -> str:
    pages = sorted(
        len(data) for path, data in site_pages.items() if path.startswith("notebooks/") and path.endswith(".html")
    )
    if not pages:
        return "no notebook pages"
    return (
        f"{len(pages)} pages, HTML median {median(pages) / 1000:.0f} kB, largest {pages[-1] / 1000:.0f} kB, "
        f"all {sum(pages) / 1e6:.1f} MB (their stylesheet and script are shared files)"
    )


def cached_runs(copy: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in (copy / SNIPPET_RUNS).glob("*.json")]


def serve_start_time(copy: Path) -> float:
    """Seconds from starting `mkdocs serve` (as `make serve` runs it) in a tree just built, with
    its caches, until it serves the site; it must render no notebook page again."""
    started = time.perf_counter()
    server, lines = start_server(copy)
    try:
        line = wait_for(lines, "notebook pages:")
        if "notebook pages: 0 rendered," not in line:
            print(f"warning: serve after a build rendered notebook pages again: {line.strip()}", file=sys.stderr)
        wait_for(lines, "Serving on")
        return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_server(copy: Path) -> tuple[subprocess.Popen, queue.Queue[str]]:
    command = [sys.executable, "-m", "mkdocs", "serve", "--livereload", "--dirty", "--no-strict"]
    command += ["--dev-addr", f"127.0.0.1:{free_port()}"]
    server = subprocess.Popen(command, cwd=copy, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    return server, lines


PLAIN_SNIPPET = "snippets/worked_examples/01_parameter_count.py"
FIGURE_SNIPPET = "snippets/initialization/11_figure_signal_through_depth.py"


# mkdocs serve looks for changed files every 0.5 s, so a save waits between 0 and 0.5 s to be
# seen, depending on where in that cycle it falls. Edits made at a fixed time after each reload
# would all fall at the same point of the cycle, which depends on how long the rebuild took. So
# each edit waits a random part of the cycle first, as a contributor's saves fall.
POLL_INTERVAL = 0.5


def serve_rebuilds(runs: int, edited: str) -> tuple[list[float], list[float]]:
    """Rebuild times reported by `mkdocs serve` (as `make serve` runs it) after editing a snippet
    into a new version, which runs it, and after editing it back to the previous version, whose
    run is cached: the same pages and notebook are rebuilt, but nothing executes."""
    phase = random.Random(0)  # the same waits in every run of the benchmark
    with fresh_copy() as copy:
        server, lines = start_server(copy)
        try:
            wait_for(lines, "Serving on")  # after the first build; the watcher is running
            snippet = copy / edited
            original = snippet.read_text()
            executed, cached = [], []
            for number in range(runs):
                time.sleep(phase.uniform(0, POLL_INTERVAL))
                executed.append(rebuild_time(lines, replace(snippet, original + f"# edit {number}\n")))
                time.sleep(phase.uniform(0, POLL_INTERVAL))
                cached.append(rebuild_time(lines, replace(snippet, original)))
            return executed, cached
        finally:
            server.terminate()
            server.wait(timeout=30)


def replace(path: Path, text: str) -> float:
    """Write at once (a plain write is a truncation, then a write: two events, maybe two builds);
    return the time of saving."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return time.perf_counter()


def rebuild_time(lines: queue.Queue, saved_at: float) -> float:
    """Seconds from saving a file to the server telling browsers to reload, taking the last
    reload once the server has been quiet for 2 s. (mkdocs's own "built in" line is no use
    here: its logger drops a message identical to an earlier one.)"""
    wait_for(lines, "Reloading browsers")
    reloaded_at = time.perf_counter()
    while True:
        try:
            line = lines.get(timeout=2)
        except queue.Empty:
            return reloaded_at - saved_at
        if "Reloading browsers" in line:
            reloaded_at = time.perf_counter()


def wait_for(lines: queue.Queue, text: str, timeout: float = 600) -> str:
    while True:
        line = lines.get(timeout=timeout)
        if "Aborted" in line or "Traceback" in line:
            sys.exit(f"mkdocs serve failed: {line}")
        if text in line:
            return line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def median(values) -> float:
    return statistics.median(list(values))


def print_table(rows: list[tuple[str, float | None, str]], args) -> None:
    import torch

    print(
        f"\nPyTorch Builders Guide benchmark: medians of {args.runs} builds, {args.serve_runs} serve edits and "
        f"{args.test_runs} test runs; torch {torch.__version__}, {os.cpu_count()} CPUs\n"
    )
    width = max(len(name) for name, _, _ in rows)
    print(f"| {'measurement':{width}} | seconds | note")
    print(f"| {'-' * width} | ------- | ----")
    for name, seconds, note in rows:
        print(f"| {name:{width}} | {'' if seconds is None else f'{seconds:7.2f}':>7} | {note}")


if __name__ == "__main__":
    main()

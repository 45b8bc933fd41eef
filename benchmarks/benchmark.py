"""Measure how long the guide takes to build, rebuild and test; print medians as a table.

    .venv/bin/python benchmarks/benchmark.py [--runs 3] [--test-runs 3]

Measured, each as the median of several runs, in a fresh copy of the guide (so caches are cold
when they should be):

- cold `mkdocs build --strict`: no cached snippet runs, no cached notebook renderings;
- the time spent executing snippets in that build, and the rest;
- a build that executes nothing (every snippet run cached);
- the floor for a cold build: importing torch once + running each snippet once + a build that
  executes nothing (target: cold build <= 1.3 x floor);
- with `mkdocs serve` running: the rebuild after editing one snippet, and after editing a page
  (which executes nothing) (targets: <= 1.5 s, and <= 1.2 x the page rebuild);
- the CPU test suite, `pytest` (target: <= 90 s).

A benchmark, not a test: it prints figures and never fails on machine noise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("docs", "snippets", "guide_build", "mkdocs.yml")
BUILT_RE = re.compile(r"Documentation built in ([\d.]+) seconds")
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per build measurement")
    parser.add_argument("--test-runs", type=int, default=3, help="runs of the test suite (0 to skip)")
    args = parser.parse_args()

    torch_import = median(timed([sys.executable, "-c", "import torch"]) for _ in range(args.runs))
    cold, executing, warm, snippet_runs = [], [], [], 0
    for _ in range(args.runs):
        with fresh_copy() as copy:
            cold.append(timed(mkdocs_build(copy), cwd=copy))
            runs = cached_runs(copy)
            executing.append(sum(run["seconds"] for run in runs))
            snippet_runs = len(runs)
            warm.append(timed(mkdocs_build(copy), cwd=copy))
    snippet_rebuilds, page_rebuilds = serve_rebuilds(args.runs)
    floor = torch_import + median(executing) + median(warm)

    rows = [
        ("import torch", torch_import, ""),
        ("cold strict build", median(cold), f"{median(cold) / floor:.2f} x floor (target <= 1.3)"),
        ("  of which executing snippets", median(executing), f"{snippet_runs} snippet runs"),
        ("  of which the rest", median(cold) - median(executing), ""),
        ("build executing nothing (warm)", median(warm), ""),
        ("floor: import + snippets + warm build", floor, ""),
        ("serve: rebuild after editing a page", median(page_rebuilds), "executes nothing"),
        (
            "serve: rebuild after editing a snippet",
            median(snippet_rebuilds),
            f"{median(snippet_rebuilds) / median(page_rebuilds):.2f} x page rebuild (targets <= 1.5 s, <= 1.2 x)",
        ),
    ]
    if args.test_runs:
        tests = median(
            timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT)
            for _ in range(args.test_runs)
        )
        rows.append(("CPU test suite (pytest)", tests, "target <= 90 s"))
    print_table(rows, args)


def timed(command: list[str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
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


def cached_runs(copy: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in (copy / ".cache" / "snippet-runs").glob("*.json")]


def serve_rebuilds(runs: int) -> tuple[list[float], list[float]]:
    """Rebuild times reported by a running `mkdocs serve` after editing a snippet, then a page."""
    with fresh_copy() as copy:
        port = free_port()
        command = [sys.executable, "-m", "mkdocs", "serve", "--livereload", "--dirty", "--no-strict"]
        command += ["--dev-addr", f"127.0.0.1:{port}"]  # as `make serve` runs it
        server = subprocess.Popen(
            command, cwd=copy, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for_build(server)
            wait_for_line(server, "Serving on")  # the watcher starts after the first build
            snippet = copy / "snippets" / "worked_examples" / "01_parameter_count.py"
            page = copy / "docs" / "worked-examples" / "parameter-count.md"
            snippet_times, page_times = [], []
            for number in range(runs):
                snippet.write_text(snippet.read_text() + f"# edit {number}\n")
                snippet_times.append(wait_for_build(server))
                page.write_text(page.read_text() + "\n")
                page_times.append(wait_for_build(server))
            return snippet_times, page_times
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_for_build(server: subprocess.Popen) -> float:
    return float(BUILT_RE.search(wait_for_line(server, "Documentation built in"))[1])


def wait_for_line(server: subprocess.Popen, text: str) -> str:
    for line in server.stdout:
        if "Aborted" in line or "Traceback" in line:
            sys.exit(f"mkdocs serve failed: {line}")
        if text in line:
            return line
    sys.exit("mkdocs serve stopped")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def median(values) -> float:
    return statistics.median(list(values))


def print_table(rows: list[tuple[str, float, str]], args) -> None:
    import torch

    print(
        f"\nPyTorch Builders Guide benchmark: medians of {args.runs} runs, torch {torch.__version__}, {os.cpu_count()} CPUs\n"
    )
    width = max(len(name) for name, _, _ in rows)
    print(f"| {'measurement':{width}} | seconds | note")
    print(f"| {'-' * width} | ------- | ----")
    for name, seconds, note in rows:
        print(f"| {name:{width}} | {seconds:7.2f} | {note}")


if __name__ == "__main__":
    main()

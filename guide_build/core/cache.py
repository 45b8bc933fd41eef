"""A disk cache of snippet runs, so a rebuild re-runs only the snippets that changed.

A cached run is reused only when everything it could depend on is unchanged: the snippet's bytes,
the bytes of the repository modules it imports, and the environment (Python, torch, every
installed package's version, the device it ran on, and the runner's own code). Anything else
gives a new key, so a stale output is never shown. Entries come only from successful runs, each in
a process of its own (guide_build.core.runner), so no other snippet can have changed what they hold.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import threading
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

from guide_build.core import runner
from guide_build.core.snippet_options import options_of

# The code that runs a snippet and reads its results, read as files: importing the server here
# would make every build process import torch and torch._dynamo, a few seconds it never uses.
RUNNER_FILES = tuple(
    Path(__file__).with_name(name)
    for name in (
        "runner.py",
        "snippet_server.py",
        "snippet_child.py",
        "rank_launcher.py",
        "run_outcome.py",
        "time_limit.py",
        "snippet_options.py",
        "facts.py",
        "witness_probes.py",
        "figures.py",
        "witnesses.py",
        "claims.py",  # witnesses.py reads its patterns
    )
)

CACHE_DIR_ENV = "GUIDE_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(".cache") / "snippet-runs"


# Failures of the current build, by cache key: a page and its notebook that show one failed
# example do not each wait for it to fail again (a hang would cost its time limit every time).
# Never written to disk, and forgotten when the next build starts (`start_runs`).
_failures: dict[str, runner.SnippetFailed] = {}
# Runs that `start_runs` began, by cache key: whoever needs one meanwhile waits for it.
_started: dict[str, Future] = {}
_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="snippet-run")


def cached_run(path: str | Path, *, device: str = "auto") -> runner.SnippetRun:
    """`runner.run_snippet`, answered from the cache when snippet and environment are unchanged."""
    cached = lookup(path, device=device)
    if cached is not None:
        return cached
    key = cache_key(path, device)
    if key in _failures:
        raise _failures[key]
    if key in _started:
        return _started[key].result()
    return _run_and_store(path, device, key)


def _run_and_store(path: str | Path, device: str, key: str) -> runner.SnippetRun:
    entry = cache_dir() / f"{key}.json"
    try:
        run = runner.run_snippet(path, device=device)
    except runner.SnippetFailed as failure:
        _failures[key] = failure
        raise
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = entry.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(asdict(run)), encoding="utf-8")
    temporary.replace(entry)
    return run


def lookup(path: str | Path, *, device: str = "auto") -> runner.SnippetRun | None:
    """The cached run of this version of the snippet, if there is one."""
    entry = cache_dir() / f"{cache_key(path, device)}.json"
    if not entry.is_file():
        return None
    return runner.SnippetRun(**json.loads(entry.read_text(encoding="utf-8")))


def confirm(path: str | Path, fresh: runner.SnippetRun, facts: Collection[str] | None = None) -> bool:
    """Record whether `fresh`, a new run of the snippet on `fresh.device` (not "auto"), computed
    what its cached run holds (but the time it took): of its facts, those named in `facts` (the
    ones the pages cite), or all of them. A confirmed entry may stand in for a run on that device
    (`confirmed_run`): two runs agreed in all that the site shows, and its key covers all it
    depends on. A run that disagrees withdraws the confirmation, as does a failed one (`withdraw`)."""
    shown = lookup(path)
    if shown is None:
        return False
    agrees = _results(shown, facts) == _results(fresh, facts)
    if agrees:  # the marker holds what was compared: an entry rewritten since is not confirmed
        _confirmation(path, fresh.device).write_text(_results(shown), encoding="utf-8")
    else:
        withdraw(path, fresh.device)
    return agrees


def withdraw(path: str | Path, device: str) -> None:
    _confirmation(path, device).unlink(missing_ok=True)


def confirmed_run(path: str | Path, device: str) -> runner.SnippetRun | None:
    """The cached run of this version of the snippet, if a fresh run on `device` confirmed it."""
    shown, marker = lookup(path), _confirmation(path, device)
    if shown is None or not marker.is_file() or marker.read_text(encoding="utf-8") != _results(shown):
        return None
    return replace(shown, device=device)


def _confirmation(path: str | Path, device: str) -> Path:
    return cache_dir() / f"{cache_key(path, 'auto')}.confirmed-{device}"


def _results(run: runner.SnippetRun, facts: Collection[str] | None = None) -> str:
    """A digest of what the run computed, written as the cache stores it (JSON makes tuples lists):
    its facts, all or those named in `facts` (a temporary folder's name, say, differs from run to
    run, and no page shows it)."""
    results = {name: value for name, value in asdict(run).items() if name not in ("device", "seconds")}
    if facts is not None:
        results["facts"] = {name: value for name, value in run.facts.items() if name in facts}
    return hashlib.sha256(json.dumps(results, sort_keys=True).encode()).hexdigest()


def cached_key(path: str | Path, *, device: str = "auto") -> str | None:
    """The cache key of this version of the snippet if its run is in the cache, else None."""
    key = cache_key(path, device)
    return key if (cache_dir() / f"{key}.json").is_file() else None


def start_runs(paths: list[str | Path], *, device: str = "auto") -> list[str]:
    """Start the runs of these snippets that are not in the cache, side by side (one per core),
    and return at once, with the snippets started: `cached_run` waits for the one it needs. A new
    build: what failed in the last one is run again."""
    _failures.clear()
    for key in [key for key, future in _started.items() if future.done()]:
        del _started[key]
    started = []
    for path in _slow_ones_first(paths):
        if not Path(path).is_file():
            continue  # deleted or renamed since the pages were read: reported where a page shows it
        key = cache_key(path, device)
        if key not in _started and not (cache_dir() / f"{key}.json").is_file():
            _started[key] = _pool.submit(_run_and_store, path, device, key)
            started.append(str(path))
    return started


def _slow_ones_first(paths: list[str | Path]) -> list[str | Path]:
    """The snippets that declare a longer time limit first (a slow example is started early, so
    that it does not end the build alone on one core), the others in the order given."""
    return sorted(paths, key=lambda path: -options_of(path).timeout if Path(path).is_file() else 0)


def wait_for_run(path: str | Path, *, device: str = "auto") -> None:
    """Return once the run of this version of the snippet is not going on: `start_runs` may have
    started it. Whether it passed or failed, `cached_run` tells."""
    future = _started.get(cache_key(path, device))
    if future is not None:
        future.exception()


def cancel_runs() -> None:
    """Drop the runs started and not yet begun, for a build that ends without reading them (an
    error, Ctrl-C): the process then leaves without running them."""
    global _pool
    _pool.shutdown(wait=False, cancel_futures=True)
    _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="snippet-run")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV, DEFAULT_CACHE_DIR))


def cache_key(path: str | Path, device: str) -> str:
    digest = hashlib.sha256()
    digest.update(environment_fingerprint(device).encode())
    for source in sorted(source_files(Path(path))):
        digest.update(str(source).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def environment_fingerprint(device: str) -> str:
    """Everything outside the snippet's folder that can change what it prints."""
    parts = [
        f"python {platform.python_version()}",
        f"torch {torch_version()}",
        f"packages {installed_packages()}",
        f"device {device}: {device_description(device)}",
        f"runner {runner_code()}",
    ]
    return "; ".join(parts)


@functools.cache
def installed_packages() -> str:
    """A digest of every installed distribution and its version: the pinned environment."""
    # Only what is installed in this environment: the working directory (also on sys.path in some
    # processes) holds the project's own egg-info, which must not make two processes disagree.
    installed = [entry for entry in sys.path if entry and entry.startswith((sys.prefix, sys.base_prefix))]
    names = sorted(
        {f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions(path=installed)}
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def runner_code() -> str:
    """A digest of the code that runs a snippet and reads its results."""
    return _digest_of(tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in RUNNER_FILES))


@functools.lru_cache(maxsize=8)
def _digest_of(versions: tuple[tuple[Path, int, int], ...]) -> str:
    """Read once per version of the files: a rebuild asks for it hundreds of times."""
    digest = hashlib.sha256()
    for path, _, _ in versions:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache  # like installed_packages: the environment of one process; read hundreds of times a build
def torch_version() -> str:
    return importlib.metadata.version("torch")


def device_description(device: str = "auto") -> str:
    """'CPU', or the CUDA device and toolkit a snippet run with `device` would use."""
    if device == "cpu" or not _torch_is_a_cuda_build():
        return "CPU"  # known without importing torch (a second or two per build process)
    import torch

    if not torch.cuda.is_available():
        return "CPU"
    return f"cuda {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"


@functools.cache
def _torch_is_a_cuda_build() -> bool:
    """Read from torch/version.py, which the build writes (`cuda = None` in a CPU-only build)."""
    spec = importlib.util.find_spec("torch")
    namespace: dict[str, object] = {}
    exec(Path(spec.origin).with_name("version.py").read_text(encoding="utf-8"), namespace)
    return namespace.get("cuda") is not None


def source_files(path: Path) -> set[Path]:
    """The snippet and, transitively, the modules it imports from its own folder."""
    found: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(_local_imports(current))
    return found


def _local_imports(path: Path) -> list[Path]:
    status = path.stat()
    return _local_imports_of_version(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=4096)
def _local_imports_of_version(path: Path, mtime_ns: int, size: int) -> list[Path]:
    """Parsing every snippet on every rebuild adds up: remember the answer per file version."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError:
        return []  # its run reports the error, with the line
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    candidates = (path.parent / f"{name.split('.')[0]}.py" for name in names)
    return [candidate for candidate in candidates if candidate.is_file()]

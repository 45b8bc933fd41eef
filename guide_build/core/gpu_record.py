"""The record of the last GPU test run, kept in the repository: tests/records/gpu-run.json.

The site is built on CPU, but readers should see what a GPU run does too. When the test suite
runs on CUDA with `--record-gpu`, it writes each snippet's CUDA output, the snippet's hash and the
environment (device, torch and CUDA versions, date). The build shows that output beside the CPU
output where a page asks for it, and stamps every page with how many of its examples the GPU run
covered. A recorded output belongs to the exact bytes of its snippet: once the snippet changes,
the page says so instead of showing the old output, and the next CUDA test run fails until the
record is refreshed, so the record can never go stale silently.

A run that fails for some snippets still records the others, and names each failed snippet with
the test that failed (the stamps count it as failed, not as passed). A later run that reruns only
some snippets on the same GPU and torch keeps the entries it did not rerun, as long as those
snippets are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECORD_PATH = Path("tests") / "records" / "gpu-run.json"


@dataclass
class GpuRun:
    device: str
    torch: str
    cuda: str
    date: str
    outputs: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    witnesses: dict[str, list[str]] = field(default_factory=dict)  # labels of the assertions that ran
    failures: dict[str, str] = field(default_factory=dict)  # snippet -> the CUDA test that failed

    def output_for(self, snippet: str) -> str | None:
        """The recorded CUDA output of `snippet`, if it passed as the snippet is now."""
        if self.hashes.get(snippet) != snippet_hash(snippet):
            return None
        return self.outputs.get(snippet)

    def failure_of(self, snippet: str) -> str | None:
        """The CUDA test that failed for `snippet`, if it failed as the snippet is now."""
        if self.hashes.get(snippet) != snippet_hash(snippet):
            return None
        return self.failures.get(snippet)

    def snippets(self) -> set[str]:
        return set(self.outputs) | set(self.failures)

    @property
    def summary(self) -> str:
        return f"{self.device}, torch {self.torch} (CUDA {self.cuda}), {self.date}"


def snippet_hash(snippet: str | Path) -> str:
    path = Path(snippet)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def witnesses_held(snippet: str) -> list[str] | None:
    """The labelled assertions that held when the GPU test run ran this version of `snippet` and
    it passed (None if it did not run there, failed, or changed since)."""
    run = load()
    if run is None or run.output_for(snippet) is None:
        return None
    return run.witnesses.get(snippet, [])


def merged(earlier: GpuRun | None, latest: GpuRun) -> GpuRun:
    """`latest`, plus the entries of `earlier` that it did not rerun, if `earlier` ran on the same
    GPU and torch and those snippets have not changed since."""
    if earlier is None or (earlier.device, earlier.torch, earlier.cuda) != (latest.device, latest.torch, latest.cuda):
        return latest
    kept = {s for s in earlier.snippets() - latest.snippets() if earlier.hashes.get(s) == snippet_hash(s)}

    def pick(mapping: dict, newer: dict) -> dict:
        return dict(sorted({**{s: v for s, v in mapping.items() if s in kept}, **newer}.items()))

    return GpuRun(
        device=latest.device,
        torch=latest.torch,
        cuda=latest.cuda,
        date=latest.date,
        outputs=pick(earlier.outputs, latest.outputs),
        hashes=pick(earlier.hashes, latest.hashes),
        witnesses=pick(earlier.witnesses, latest.witnesses),
        failures=pick(earlier.failures, latest.failures),
    )


def load(path: Path = RECORD_PATH) -> GpuRun | None:
    if not path.is_file():
        return None
    return GpuRun(**json.loads(path.read_text(encoding="utf-8")))


def save(run: GpuRun, path: Path = RECORD_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(run), indent=1, sort_keys=True) + "\n", encoding="utf-8")

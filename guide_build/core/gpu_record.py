"""The record of the last GPU test run, kept in the repository: tests/records/gpu-run.json.

The site is built on CPU, but readers should see what a GPU run does too. When the test suite
runs on CUDA with `--record-gpu`, it writes each snippet's CUDA output, the snippet's hash and the
environment (device, torch and CUDA versions, date). The build shows that output beside the CPU
output where a page asks for it, and stamps every page with how many of its examples the GPU run
covered. A recorded output belongs to the exact bytes of its snippet: once the snippet changes,
the page says so instead of showing the old output, and the next CUDA test run fails until the
record is refreshed, so the record can never go stale silently.
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

    def output_for(self, snippet: str) -> str | None:
        """The recorded CUDA output of `snippet`, if it was recorded for the snippet as it is now."""
        if self.hashes.get(snippet) != snippet_hash(snippet):
            return None
        return self.outputs.get(snippet)

    @property
    def summary(self) -> str:
        return f"{self.device}, torch {self.torch} (CUDA {self.cuda}), {self.date}"


def snippet_hash(snippet: str | Path) -> str:
    path = Path(snippet)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def witnesses_held(snippet: str) -> list[str] | None:
    """The labelled assertions that held when the GPU test run ran this version of `snippet`."""
    run = load()
    if run is None or run.hashes.get(snippet) != snippet_hash(snippet):
        return None
    return run.witnesses.get(snippet, [])


def load(path: Path = RECORD_PATH) -> GpuRun | None:
    if not path.is_file():
        return None
    return GpuRun(**json.loads(path.read_text(encoding="utf-8")))


def save(run: GpuRun, path: Path = RECORD_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(run), indent=1, sort_keys=True) + "\n", encoding="utf-8")

"""Run every example of the guide on another torch release, on the CPU, and report what fails.

    make check-torch-versions TORCH="2.11.0 2.14.1"     (slow: see below)

The guide is built and tested with the torch pinned in constraints.txt, and the GPU job runs it
with the GPU machine's torch. The home page promises more: every complete example runs with any
torch from the oldest release pyproject.toml admits. This checks that promise release by release.
For each version it makes a virtual environment in .cache/torch-versions/<version>/ (once: pip
takes a CUDA build of torch from the package index, with its CUDA libraries, several GB, unless
the version is the one installed here), then runs every example the pages run through the guide's
own runner under that interpreter, ranks included, on the CPU, and lists the examples that fail,
with their traceback's last lines. Outputs are not compared: they show the release they ran on,
and numbers that a release may change. Exit status 1 if any example failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ROOT / ".cache" / "torch-versions"
# What the examples import besides torch and the standard library.
EXAMPLE_PACKAGES = ("numpy", "matplotlib", "safetensors")


def environment_for(version: str) -> Path:
    """The interpreter of a virtual environment with this torch, made on first use."""
    folder = ENVIRONMENTS / version
    python = folder / "bin" / "python"
    if not (folder / ".installed").is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet", f"torch=={version}", *EXAMPLE_PACKAGES]
        subprocess.run(install, check=True)
        (folder / ".installed").touch()
    return python


def every_example() -> list[str]:
    """The snippet files that the pages include whole, and so run, in page order."""
    from guide_build.core.page_source import whole_file_includes

    pages = sorted((ROOT / "docs").rglob("*.md"))
    found = [path for page in pages for path in whole_file_includes(page.read_text(encoding="utf-8"))]
    return list(dict.fromkeys(found))


def run_all(examples: list[str]) -> int:
    """Inside the other torch's interpreter: run the examples, two at a time; print each failure."""
    from guide_build.core.runner import SnippetFailed, run_snippet

    def outcome(path: str) -> str | None:
        try:
            run_snippet(path, device="cpu")
        except SnippetFailed as failure:
            return f"FAILED {path}\n    " + "\n    ".join(failure.traceback_text.strip().splitlines()[-6:])
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [text for text in pool.map(outcome, examples) if text]
    print("\n".join(failures) or "every example ran")
    return len(failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="*", help="torch releases, such as 2.9.0")
    parser.add_argument("--run-here", action="store_true", help=argparse.SUPPRESS)  # inside the environment
    arguments = parser.parse_args()
    if arguments.run_here:
        return 1 if run_all(every_example()) else 0
    failed = []
    for version in arguments.versions:
        python = environment_for(version)
        print(f"== torch {version}", flush=True)
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
        ran = subprocess.run([str(python), __file__, "--run-here"], cwd=ROOT, env=environment)
        if ran.returncode:
            failed.append(version)
    print("failed on torch " + ", ".join(failed) if failed else "every example ran on every version")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Which torch release a check runs on, and which release the site is built with.

The site is built and tested with the torch pinned in constraints.txt; the GPU test run and
`make check-torch-versions` use other releases. A page that quotes one release's value, or states
what holds from a release on, says so in the mark, and the check applies where the mark says:

    **878**{ data-claim="devices/17_cpu_scalar_operands.py:unchecked@2.13" }    torch 2.13's value
    *statement*{ data-witness="devices/19_tf32_settings.py:flags-set-conv@2.13+" }

A release's value must be the pinned release's: the site's build checks it, and a newer pin fails
until the page is updated. A statement marked `@X.Y+` must hold from X.Y on, so X.Y may not be
newer than the pin: the build would never check it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

Release = tuple[int, int]
CONSTRAINTS = Path("constraints.txt")  # relative to the repository root, the build's working directory


def release_of(version: str) -> Release:
    """(2, 13) for '2.13', '2.13.0', '2.13.0a0+git…' or '2.11.0+cu130'."""
    major, minor = re.match(r"(\d+)\.(\d+)", version).groups()
    return int(major), int(minor)


def applies(mark: str, release: Release) -> bool:
    """Whether a release mark applies to a run with this torch: '2.13' (a value of that release)
    on 2.13 only, '2.13+' (a statement true from that release on) on 2.13 and later."""
    marked = release_of(mark)
    return release >= marked if mark.endswith("+") else release == marked


def running_release() -> Release:
    """The release of the torch installed in this environment (the one the snippets run with)."""
    return release_of(importlib.metadata.version("torch"))


@functools.cache
def pinned_release() -> Release:
    """The release constraints.txt pins: the one the site is built with."""
    pinned = re.search(r"^torch==(\S+)", CONSTRAINTS.read_text(encoding="utf-8"), re.M)
    if pinned is None:
        raise ValueError(f"{CONSTRAINTS} pins no torch release (a line 'torch==X.Y.Z')")
    return release_of(pinned[1])


def pin_problem() -> str | None:
    """Why the pinned release cannot be read, if it cannot (a release mark is compared with it)."""
    try:
        pinned_release()
    except (OSError, ValueError) as error:
        return f"a release mark needs the torch release that {CONSTRAINTS} pins: {error}"
    return None


def newer_than_pinned() -> str | None:
    """A message if the installed torch is newer than the pin: its build would compare none of the
    values marked with the pinned release, and check none of them (an older release is a GPU
    machine's, or one tried on purpose: there, those values are rightly left alone)."""
    if not CONSTRAINTS.is_file() or running_release() <= pinned_release():
        return None  # no file: a guide that pins no environment (a test's small guide)
    return (
        f"torch {shown(running_release())} is installed, but {CONSTRAINTS} pins {shown(pinned_release())}: "
        "the values marked with the pinned release go unchecked. Move the pin (docs/contributing.md, "
        "'After a PyTorch upgrade'), or build with the pinned environment (make install)"
    )


def shown(release: Release) -> str:
    return ".".join(map(str, release))

"""Per-snippet settings, written in the snippet as comment lines a reader can read too:

    # guide: timeout=30          a slow example's time limit, in seconds (default 10)
    # guide: output varies       its output differs from run to run (a timing): not compared
    # guide: ranks=2             a distributed example: run as `torchrun --nproc-per-node 2 <file>`
    # guide: figure=graph.svg    the snippet saves this figure in its working directory; the page shows it

Any other `# guide:` line is an error, so a misspelt setting cannot be silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
CUDA_TIMEOUT_FACTOR = 3  # a fresh process starts CUDA before its first kernel
DEFAULT_OUTPUT_LIMIT = 20_000  # bytes: a page shows all of it, so does every notebook and search index
_LINE_RE = re.compile(r"^#\s*guide:\s*(?P<setting>.*?)\s*$")


@dataclass(frozen=True)
class SnippetOptions:
    timeout: float = DEFAULT_TIMEOUT
    output_varies: bool = False
    ranks: int = 0  # 0: a plain `python <file>` run; N: N processes, as torchrun starts them
    figures: tuple[str, ...] = ()  # SVG files the snippet writes, shown on its page


class BadOption(ValueError):
    pass


def options_of(path: str | Path) -> SnippetOptions:
    timeout, varies, ranks, figures = DEFAULT_TIMEOUT, False, 0, []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        match = _LINE_RE.match(line.strip())
        if not match:
            continue
        setting = match["setting"]
        if setting == "output varies":
            varies = True
        elif re.fullmatch(r"timeout=\d+(\.\d+)?", setting):
            timeout = float(setting.partition("=")[2])
        elif re.fullmatch(r"ranks=[1-8]", setting):
            ranks = int(setting.partition("=")[2])
        elif re.fullmatch(r"figure=[a-z0-9_-]+\.svg", setting) and not figures:  # one per example
            figures.append(setting.partition("=")[2])
        else:
            raise BadOption(
                f"{path}:{number}: unknown setting '# guide: {setting}' (known: 'timeout=<seconds>', 'output varies', "
                "'ranks=<1 to 8>', 'figure=<name>.svg')"
            )
    return SnippetOptions(timeout, varies, ranks, tuple(figures))

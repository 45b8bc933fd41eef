"""Sentences about PyTorch's behaviour, each backed by a labelled assertion in a snippet.

A claim checks a value the prose quotes; a witness checks a statement the prose makes. In a page,
the statement is emphasised text with a `data-witness` attribute naming a snippet (relative to
`snippets/`) and the label of one of its assertions:

    After the swap, *the old tensor receives no gradient*{ data-witness="replacing/01_replace_parameter.py:old-gets-no-grad" }.

and in the snippet, the assertion carries that label in a comment on its first line:

    assert old.grad is None  # witness: old-gets-no-grad

A statement that holds from a torch release on is marked `label@2.13+`: on older releases the
snippet may skip that assertion (guide_build/core/releases.py). A statement about some machines only
(x86 CPUs with AVX2, say) is marked `label@if:has_avx2`, naming a True-or-False value the snippet
sets at top level: where it is False the snippet skips the assertion and the page says the
statement was not checked; where it is True the assertion must run.

The statement is witnessed when the page runs the snippet and the snippet runs to its end, so every
one of its assertions held. The build (hooks) and the tests check that each label names an
`assert` statement of that snippet: renaming or deleting the assertion fails them, naming the page
and line. The site renders a witnessed statement as plain prose with a small checked marker.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path

from guide_build.core import releases
from guide_build.core.claims import CLAIM_RE, ProseCheck, blank_fenced_blocks, fenced_block_lines
from guide_build.core.figures import ALT_OPTION_RE, EXECUTED_FENCE_RE

LABEL = r"[a-z0-9][a-z0-9-]*"
# The text may hold **bold** claims and inline code, whose `*` (as in `a * b`) is not emphasis.
INLINE_CODE = r"`[^`]*`"
WITNESS_RE = re.compile(
    r"(?<![*\w])\*(?!\*)(?P<text>(?:" + INLINE_CODE + r"|\*\*[^*]+?\*\*|[^*`])+?)\*"
    r"\{[ \t]*data-(?P<kind>witness|gpu-witness|cpu-witness)=(?P<quote>[\"'])(?P<snippet>[^\"':]+):(?P<label>"
    + LABEL
    + r")(?:@(?P<since>\d+\.\d+)\+)?(?:@if:(?P<condition>[A-Za-z_]\w*))?(?P=quote)[ \t]*\}"
)
LABEL_COMMENT_RE = re.compile(r"#\s*witness:\s*(?P<label>" + LABEL + r")\s*$")


@dataclass(frozen=True)
class Witness(ProseCheck):
    label: str  # the label of the snippet's assertion that backs the statement
    on_gpu: bool = False  # `data-gpu-witness`: asserted when the snippet runs on CUDA (the GPU test run)
    on_cpu: bool = False  # `data-cpu-witness`: a statement about the CPU alone; not expected on CUDA
    since: str | None = None  # `label@2.13+`: true from that torch release on, not expected before it
    condition: str | None = None  # `label@if:name`: expected where the snippet's `name` is True


@dataclass(frozen=True)
class LabelledAssertion:
    label: str
    line: int  # the assertion's first line in the snippet file
    source: str  # the assertion, as written
    other_lines: tuple[int, ...] = ()  # further assertions with the same label: an error
    escape_hatch: str | None = None  # `cond` in `assert x or not cond`: holds without checking x


def find_witnesses(markdown: str, page: str) -> list[Witness]:
    """The witnessed statements in a page's prose (fenced code blocks are examples, not statements)."""
    prose = blank_fenced_blocks(markdown)
    found = []
    for match in WITNESS_RE.finditer(prose):
        line = prose.count("\n", 0, match.start()) + 1
        text = " ".join(match["text"].split())
        kind = match["kind"]
        on_gpu, on_cpu = kind == "gpu-witness", kind == "cpu-witness"
        mark = (match["since"], match["condition"])
        found.append(Witness(page, line, text, match["snippet"], match["label"], on_gpu, on_cpu, *mark))
    return found


def unread_markup(markdown: str, page: str) -> list[str]:
    """Claim or witness attributes in the prose that neither pattern reads: they would go
    unchecked, or show their markup as text (a space before `{`, braces broken over a line)."""
    prose = blank_fenced_blocks(markdown)
    # What the patterns read, as find_witnesses and find_claims read the page, and inline code
    # (`data-claim` named there is prose), both found in the page as written: blanking one before
    # looking for the other could pair a backtick with the wrong one and hide an attribute.
    spans = [match.span() for pattern in (WITNESS_RE, CLAIM_RE) for match in pattern.finditer(prose)]
    spans += [match.span() for match in re.finditer(r"(`+)[^`]*?\1", prose)]
    problems = []
    for match in re.finditer(r"data-(claim|witness|gpu-witness|cpu-witness)", prose):
        if any(start <= match.start() < end for start, end in spans):
            continue
        line = prose.count("\n", 0, match.start()) + 1
        kind = match[1]
        problems.append(
            f"{page}:{line}: a {kind} that is not read, so it is not checked. Write it as "
            + (
                '**value**{ data-claim="chapter/file.py:name" }'
                if kind == "claim"
                else f'*statement*{{ data-{kind}="chapter/file.py:label" }}'
            )
            + ": no space before the brace, the braces on one line, the quotes matching; a release "
            + (
                "after the name (name@2.13, or name@rank1@2.13)"
                if kind == "claim"
                else "with its + (label@2.13+), a condition last (label@if:has_avx2)"
            )
            + "."
        )
    return problems + _marks_outside_alt_text(markdown, page)


def _marks_outside_alt_text(markdown: str, page: str) -> list[str]:
    """Claim or witness attributes on an executed block's fence line but outside its alt text (a
    double quote inside the alt text ends it early): the page would show a truncated alt."""
    lines = markdown.split("\n")
    problems = []
    for number, role, _ in fenced_block_lines(markdown):
        line = lines[number]
        if role != "fence" or not EXECUTED_FENCE_RE.match(line):
            continue
        alt = ALT_OPTION_RE.search(line)
        outside = line[: alt.start()] + line[alt.end() :] if alt else line
        if re.search(r"data-(claim|witness|gpu-witness|cpu-witness)", outside):
            quote = alt["quote"] if alt else '"'
            problems.append(
                f"{page}:{number + 1}: a claim or witness on the fence line outside its alt text, so it is "
                f"not checked: inside alt={quote}...{quote} use the other quote, and no {quote} in the text"
            )
        if len(ALT_OPTION_RE.findall(line)) > 1:
            problems.append(f"{page}:{number + 1}: more than one alt option on the fence line: keep one")
    return problems


def checked_text_as_plain_text(markdown: str) -> str:
    """Prose with its claims and witnessed statements as plain text, for a notebook, which shows
    no marks: the markup is dropped, and a value written as code stays code."""
    markdown = CLAIM_RE.sub(lambda match: match["text"] if match[1] == "**" else f"`{match['text']}`", markdown)
    return WITNESS_RE.sub(lambda match: match["text"], markdown)


def alt_text_heard(alt: str) -> str:
    """A figure's alt text as a screen reader should hear it: no marks, and no backticks either."""
    return checked_text_as_plain_text(alt).replace("`", "")


def labelled_assertions(path: str | Path) -> dict[str, LabelledAssertion]:
    """The assertions of a snippet that carry a `# witness: label` comment, by label."""
    path = Path(path)
    status = path.stat()
    return _labelled_assertions(str(path), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=1024)
def _labelled_assertions(path: str, mtime_ns: int, size: int) -> dict[str, LabelledAssertion]:
    source = Path(path).read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError:
        return {}  # the run reports the syntax error with its line
    assertion_lines = {node.lineno: node for node in ast.walk(tree) if isinstance(node, ast.Assert)}
    lines = source.splitlines()
    found: dict[str, LabelledAssertion] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = LABEL_COMMENT_RE.search(token.string)
        if not match:
            continue
        line = token.start[0]
        node = _assertion_on(line, assertion_lines)
        first = found.get(match["label"])
        if node is not None and first is not None and first.source:
            found[match["label"]] = replace(first, other_lines=(*first.other_lines, node.lineno))
        elif node is not None:
            text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            hatch = escape_hatch(node)
            found[match["label"]] = LabelledAssertion(match["label"], node.lineno, text.strip(), escape_hatch=hatch)
        else:
            found.setdefault(match["label"], LabelledAssertion(match["label"], line, ""))
    return found


def escape_hatch(assertion: ast.Assert) -> str | None:
    """The part of `assert x or not cond` (or `x or a != b`) that lets it hold without checking x."""
    test = assertion.test
    if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or)):
        return None
    for part in test.values:
        negated = isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.Not)
        if negated or (isinstance(part, ast.Compare) and isinstance(part.ops[0], ast.NotEq)):
            return ast.unparse(part)
    return None


def _assertion_on(line: int, assertions: dict[int, ast.Assert]) -> ast.Assert | None:
    """The assertion whose first or last line holds the comment."""
    for node in assertions.values():
        if line in (node.lineno, node.end_lineno):
            return node
    return None


def unreached_error(witness: Witness, run) -> str | None:
    """None if the witness's assertion ran in `run` (a runner.SnippetRun of its snippet), or if it
    is a GPU witness and `run` is not a CUDA run, or a CPU witness and `run` is one, or if it holds
    from a torch release newer than the one installed here, or where its condition was False."""
    if witness.condition is not None:
        held = run.facts.get(witness.condition)
        if not isinstance(held, bool):
            return condition_error(witness, run)
        if not held:
            return None
    if witness.label in run.witnesses_reached:
        return None
    if (witness.on_gpu and run.device != "cuda") or (witness.on_cpu and run.device == "cuda"):
        return None
    if not expected_on(witness, releases.running_release()):
        return None
    line = labelled_assertions(witness.snippet_path)[witness.label].line
    return (
        f"{witness.where}: the statement {witness.text!r} cites the assertion {witness.label!r} at "
        f"{witness.snippet_path}:{line}, which did not run when the snippet ran on {run.device} (a branch "
        "for another device?): a check mark must rest on an assertion that held. Witness what this run "
        "checks; for what only CUDA shows, write data-gpu-witness (the GPU test run checks it), and for "
        "a statement about the CPU alone, data-cpu-witness (the CUDA run does not expect it); for one "
        "that holds from a torch release on, say so and mark it label@X.Y+; for one about some machines "
        "only, say which and mark it label@if:name, a top-level True or False of the snippet."
    )


def skipped_here(witness: Witness, run) -> str | None:
    """A note for the build's log if the witness's condition was False in `run`: not checked here."""
    if witness.condition and run.facts.get(witness.condition) is False:
        return f"{witness.where}: not checked on this machine, where {witness.condition} is False"
    return None


def condition_error(witness: Witness, run) -> str:
    """The message for a condition that the run did not set to True or False."""
    name = witness.condition
    found = f"sets it to {run.facts[name]!r}" if name in run.facts else f"sets no top-level {name}"
    booleans = ", ".join(sorted(fact for fact, value in run.facts.items() if isinstance(value, bool))) or "none"
    return (
        f"{witness.where}: the statement {witness.text!r} is checked where {name} is True, but "
        f"{witness.snippet_path} {found}; a condition names a top-level True or False (it has: {booleans})"
    )


def expected_on(witness: Witness, release: releases.Release) -> bool:
    """Whether the witness's assertion should run with this torch release (see `since`)."""
    return witness.since is None or releases.applies(f"{witness.since}+", release)


def witness_error(witness: Witness) -> str | None:
    """None if the witness names a labelled assertion of an existing snippet, else a message."""
    if witness.since and (problem := releases.pin_problem()):
        return f"{witness.where}: {problem}"
    if witness.since and releases.release_of(witness.since) > releases.pinned_release():
        return (
            f"{witness.where}: the statement {witness.text!r} is marked true from torch {witness.since} on, "
            f"but the site is built with torch {releases.shown(releases.pinned_release())}, so no build would check it"
        )
    if witness.on_gpu and witness.condition:
        return (
            f"{witness.where}: a GPU witness cannot carry a condition (@if:{witness.condition}): the GPU "
            "test run records which assertions ran, not the snippet's values"
        )
    path = Path(witness.snippet_path)
    if not path.is_file():
        return f"{witness.where}: the statement {witness.text!r} cites {witness.snippet_path}, which does not exist"
    assertions = labelled_assertions(path)
    assertion = assertions.get(witness.label)
    if assertion is None:
        known = ", ".join(sorted(assertions)) or "none"
        return (
            f"{witness.where}: the statement {witness.text!r} cites the assertion {witness.label!r} of "
            f"{witness.snippet_path}, which has no assertion with that label (it has: {known})"
        )
    if not assertion.source:
        return (
            f"{witness.where}: the label {witness.label!r} in {witness.snippet_path}:{assertion.line} "
            "is not on an assert statement"
        )
    if assertion.other_lines:
        lines = ", ".join(str(line) for line in (assertion.line, *assertion.other_lines))
        return (
            f"{witness.where}: the label {witness.label!r} is on more than one assertion of "
            f"{witness.snippet_path} (lines {lines}): the build records only one of them as run, so "
            "give each its own label, or join them into one assertion"
        )
    if assertion.escape_hatch:
        return (
            f"{witness.where}: the assertion {witness.label!r} at {witness.snippet_path}:{assertion.line} "
            f"holds when {assertion.escape_hatch}, having checked nothing, under a plain check mark: assert "
            "behind `if condition:` and mark the statement label@if:condition (a top-level True or False)"
        )
    return None


def main(pages: list[str]) -> int:
    """`python -m guide_build.core.witnesses docs/a.md ...`: check the pages' witnesses, print problems."""
    problems = 0
    for page in pages:
        for witness in find_witnesses(Path(page).read_text(encoding="utf-8"), page):
            error = witness_error(witness)
            if error:
                problems += 1
                print(error)
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))

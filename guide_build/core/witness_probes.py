"""Compile a snippet so that each labelled assertion (`# witness: label`) records that it ran.

A check mark beside a sentence says that its assertion held when the build ran the snippet. An
assertion in a branch the run never took (another device's, say) held nothing, so the build must
know which ones ran. The compiled code records each label just before its assertion; nothing else
changes: the same statements, on the same lines in tracebacks.
"""

from __future__ import annotations

import ast
from types import CodeType

REACHED = "__guide_witnesses_reached__"  # the set the probes add to, in the snippet's namespace


def compile_with_probes(source: str, filename: str, labels: dict[int, str]) -> CodeType:
    """`labels`: the label of the assertion starting on each line."""
    tree = ast.parse(source, filename=filename)
    if labels:
        tree = ast.fix_missing_locations(_Probes(labels).visit(tree))
    return compile(tree, filename, "exec", dont_inherit=True)


class _Probes(ast.NodeTransformer):
    def __init__(self, labels: dict[int, str]) -> None:
        self.labels = labels

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                setattr(node, field, self._probed(statements))
        return node

    def _probed(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        probed: list[ast.stmt] = []
        for statement in statements:
            label = self.labels.get(statement.lineno) if isinstance(statement, ast.Assert) else None
            if label is not None:
                probe = ast.parse(f"{REACHED}.add({label!r})").body[0]
                probed.append(ast.copy_location(probe, statement))
            probed.append(statement)
        return probed

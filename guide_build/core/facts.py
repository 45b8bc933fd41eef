"""The top-level values of a snippet that prose may quote: numbers, strings, shapes."""

from __future__ import annotations

import torch

_STRING_LIMIT = 4000


def facts_of(namespace: dict[str, object]) -> dict[str, object]:
    facts: dict[str, object] = {}
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        try:
            fact = _as_fact(value)
        except Exception:  # an object that cannot say its size (an uninitialized parameter): no fact
            fact = None
        if fact is not None:
            facts[name] = fact
    return facts


def _as_fact(value: object) -> object | None:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:_STRING_LIMIT]
    if isinstance(value, torch.nn.parameter.UninitializedTensorMixin):
        return None
    if isinstance(value, torch.Tensor) and not value.is_meta and value.numel() == 1:
        item = value.item()
        return None if isinstance(item, complex) else item  # JSON has no complex numbers
    if isinstance(value, (tuple, torch.Size)) and all(isinstance(v, int) for v in value):
        return list(value)
    return None

"""Dotted paths into decoded messages: ``balls.0.x``, ``balls.*.number``, ``cue.tip_x``.

A segment is a map key, a list index, or ``*`` (every element of a list or value of a map).
``header.<field>`` reaches the envelope header (``header.seq``, ``header.src``) when the body
has no ``header`` field of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

Path = tuple[str, ...]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def parse(text: str) -> Path:
    """Split a dotted path; raise ValueError for an empty one or an empty segment."""
    segments = tuple(text.strip().split("."))
    if not text.strip() or any(not s for s in segments):
        raise ValueError(f"bad path {text!r}: use dotted names like balls.0.x or balls.*.number")
    return segments


def _step(value: Any, segment: str) -> Iterator[Any]:
    if segment == "*":
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()
    elif isinstance(value, dict):
        if segment in value:
            yield value[segment]
    elif isinstance(value, list) and segment.lstrip("-").isdigit():
        index = int(segment)
        if -len(value) <= index < len(value):
            yield value[index]


def values(data: Any, path: Path) -> list[Any]:
    """Every value at ``path`` (several with ``*``, none if missing)."""
    current = [data]
    for segment in path:
        current = [found for value in current for found in _step(value, segment)]
    return current


def get(data: Any, path: Path) -> Any:
    """The value at ``path``: a list for paths with ``*``, :data:`MISSING` if absent."""
    found = values(data, path)
    if "*" in path:
        return found
    return found[0] if found else MISSING


def text(path: Path) -> str:
    """The dotted form of a path."""
    return ".".join(path)

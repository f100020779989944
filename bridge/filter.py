"""Subscription filters: ``where`` conditions and ``fields`` projection on message data (pure).

Paths are dotted (``balls.0.number``, ``cue.direction_deg``); a numeric segment indexes a list
in conditions. In ``fields`` a segment applied to a list keeps that field of every element
(``balls.x`` keeps ``x`` of each ball). A condition whose path is missing, or whose comparison
does not apply to the value's type, is false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from bridge.item import Item

MAX_PATHS: Final = 32
_MISSING: Final = object()
_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda value, options: value in options,
}


def _split(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("."))
    if not path or any(not p for p in parts):
        raise ValueError(f"bad path {path!r}: dotted names like 'balls.0.x'")
    return parts


def lookup(data: Any, path: Sequence[str]) -> Any:
    """The value at ``path``, or a sentinel when it is missing."""
    for part in path:
        if isinstance(data, dict):
            data = data.get(part, _MISSING)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
        if data is _MISSING:
            return _MISSING
    return data


@dataclass(frozen=True, slots=True)
class Condition:
    """``path op value``."""

    path: tuple[str, ...]
    op: str
    value: Any

    def test(self, data: Any) -> bool:
        found = lookup(data, self.path)
        if found is _MISSING:
            return False
        try:
            return bool(_OPS[self.op](found, self.value))
        except TypeError:
            return False


def project(data: Any, paths: Sequence[tuple[str, ...]]) -> Any:
    """Keep only ``paths`` of ``data`` (a list is projected element by element)."""
    if isinstance(data, list):
        return [project(element, paths) for element in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    groups: dict[str, list[tuple[str, ...]]] = {}
    for path in paths:
        groups.setdefault(path[0], []).append(path[1:])
    for key, rests in groups.items():
        if key not in data:
            continue
        out[key] = data[key] if any(not rest for rest in rests) else project(data[key], rests)
    return out


class Filter:
    """The ``where`` and ``fields`` options of one subscription."""

    def __init__(
        self, fields: Sequence[str] | None, where: Sequence[tuple[str, str, Any]] | None
    ) -> None:
        if len(fields or ()) > MAX_PATHS or len(where or ()) > MAX_PATHS:
            raise ValueError(f"at most {MAX_PATHS} fields and {MAX_PATHS} conditions")
        self.fields = tuple(sorted(set(fields))) if fields else None
        self.paths = tuple(_split(f) for f in self.fields) if self.fields else ()
        self.conditions = tuple(self._condition(*c) for c in where or ())

    @staticmethod
    def _condition(path: str, op: str, value: Any) -> Condition:
        if op not in _OPS:
            raise ValueError(f"unknown condition op {op!r} (use {', '.join(_OPS)})")
        if op == "in" and not isinstance(value, list):
            raise ValueError(f"'in' needs a list of values, got {value!r}")
        return Condition(_split(path), op, value)

    def accepts(self, item: Item) -> bool:
        """Whether the message passes every condition."""
        if not self.conditions:
            return True
        data = item.data()
        return all(c.test(data) for c in self.conditions)

    def shape(self, data: Any) -> Any:
        """The data with only the wanted fields."""
        return project(data, self.paths) if self.paths else data

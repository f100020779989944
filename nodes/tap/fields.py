"""``--fields``: keep only some dotted paths of each message, as a flat map path -> value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodes.tap import path as paths

Path = paths.Path


def parse(specs: Iterable[str]) -> list[Path]:
    """Paths from ``--fields`` values (each may hold several, comma-separated)."""
    return [paths.parse(part) for spec in specs for part in spec.split(",") if part.strip()]


def project(data: Any, selected: Sequence[Path]) -> dict[str, Any]:
    """``{"balls.*.x": [...], "frame": 12}``; a missing path maps to None."""
    out: dict[str, Any] = {}
    for path in selected:
        value = paths.get(data, path)
        out[paths.text(path)] = None if value is paths.MISSING else value
    return out

"""The base of every message and the small value types messages share."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every message body. ``TYPE`` goes in the envelope header, not in the body.

    Subclasses are frozen, keyword-only Structs encoded as MessagePack maps, so any msgpack
    library decodes them. Fields added in a minor version always have defaults.
    """

    TYPE: ClassVar[str] = ""


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """A point in table metres."""

    x: float
    y: float


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where a topic's history stands: its epoch and the last seq published in it."""

    epoch: str
    seq: int


def to_builtins(value: Any) -> Any:
    """Plain dicts, lists, strings and numbers of a message (for JSON, logs and tests)."""
    return msgspec.to_builtins(value)

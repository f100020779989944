"""Control requests and replies (REQ/REP, DESIGN.md §4)."""

from __future__ import annotations

from typing import Any

import msgspec

from protocol.messages.base import Message


class Request(Message, frozen=True, kw_only=True):
    """A control request: ``request`` names it, ``args`` are its arguments. Since 1.0."""

    TYPE = "control.request"
    request: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)


class ErrorInfo(Message, frozen=True, kw_only=True):
    """Why a request failed: a code from docs/protocol.md and a message for people."""

    code: str
    message: str


class Reply(Message, frozen=True, kw_only=True):
    """The answer to a :class:`Request`: ``result`` if ``ok``, else ``error``. Since 1.0."""

    TYPE = "control.reply"
    ok: bool
    result: Any = None
    error: ErrorInfo | None = None

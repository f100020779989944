"""Work a session asks its shell to do, because it needs sockets (pure data).

The session appends these to ``Session.effects``; the WebSocket shell (:mod:`bridge.ws`) drains
the list after every call into the session and reports back through the session's methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge import wire
from protocol import topics
from protocol.errors import TopicError
from protocol.messages.system import AlertLevel

if TYPE_CHECKING:
    from bridge.reliable import ReliableStream
    from bridge.subscription import Subscription

ALERT_LEVELS: tuple[AlertLevel, ...] = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True, slots=True)
class Attach:
    """Subscribe the bus for ``sub``, then call ``Session.attach`` with tips and values."""

    sub: Subscription


@dataclass(frozen=True, slots=True)
class Detach:
    """Drop the bus interest of ``sub``."""

    sub: Subscription


@dataclass(frozen=True, slots=True)
class Fetch:
    """Read history of ``topic`` after ``after``; hand the result to ``Session.fetched``."""

    sub: int
    stream: ReliableStream
    topic: str
    epoch: str
    after: int
    limit: int
    resuming: bool


@dataclass(frozen=True, slots=True)
class CallNode:
    """Send a control request to a node; answer with ``Session.answer`` or ``refuse``."""

    id: wire.Id
    node: str
    request: str
    args: dict[str, Any]

    @classmethod
    def of(cls, op: wire.Call) -> CallNode:
        """Validate a ``call``."""
        try:
            topics.name(op.node, "node name")
        except TopicError as exc:
            raise wire.WireError("bad_request", str(exc)) from None
        if not op.request:
            raise wire.WireError("bad_request", "call needs a request name")
        return cls(op.id, op.node, op.request, dict(op.args))


@dataclass(frozen=True, slots=True)
class PublishAlert:
    """Publish an alert on the bridge's alert topic; answer with ``answer`` or ``refuse``."""

    id: wire.Id
    level: AlertLevel
    code: str
    message: str
    details: dict[str, Any]

    @classmethod
    def of(cls, op: wire.Publish, server: str) -> PublishAlert:
        """Validate a ``publish``: only alerts, only on ``system.alert.<server>``."""
        own = topics.system_alert(server)
        if op.topic != own:
            raise wire.WireError("forbidden", f"clients may publish on {own} only")
        return cls.from_map(op.id, op.data)

    @classmethod
    def from_map(cls, id: wire.Id, data: dict[str, Any]) -> PublishAlert:
        """Validate ``{"level","code","message","details"}`` (WebSocket or REST)."""
        level, code, message = data.get("level"), data.get("code"), data.get("message")
        details = data.get("details") or {}
        for level_name in ALERT_LEVELS:
            if level == level_name:
                break
        else:
            raise wire.WireError("bad_request", f"alert level must be {'|'.join(ALERT_LEVELS)}")
        if not isinstance(code, str) or not code or len(code) > 64:
            raise wire.WireError("bad_request", "alert code must be a string of 1..64 characters")
        if not isinstance(message, str) or not isinstance(details, dict):
            raise wire.WireError("bad_request", "alert needs a message string and a details map")
        if not all(isinstance(k, str) for k in details):
            raise wire.WireError("bad_request", "alert details keys must be strings")
        return cls(id, level_name, code, message, details)


Effect = Attach | Detach | Fetch | CallNode | PublishAlert

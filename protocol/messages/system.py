"""Messages every node publishes: heartbeats, alerts, configuration and the XPUB welcome."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from protocol.messages.base import Message, Position

AlertLevel = Literal["debug", "info", "warning", "error", "critical"]


class Heartbeat(Message, frozen=True, kw_only=True):
    """Liveness and load of a node, every ``interval_s``. Topic: ``system.heartbeat.<node>``.

    ``rates`` are messages per second per published topic over the last interval; ``stats`` is
    node-specific (per-stage timings, counters); ``positions`` are the last (epoch, seq) of each
    reliable topic, so a subscriber that missed the newest message notices within a beat.
    Since 1.0.
    """

    TYPE = "system.heartbeat"
    node: str
    kind: str
    pid: int
    host: str
    version: str
    started_ns: int
    uptime_s: float
    interval_s: float
    status: Literal["ok", "degraded"] = "ok"
    reason: str | None = None
    cpu_percent: float = 0.0
    rss_bytes: int = 0
    loop_lag_ms: float = 0.0
    rates: dict[str, float] = msgspec.field(default_factory=dict)
    stats: dict[str, Any] = msgspec.field(default_factory=dict)
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    positions: dict[str, Position] = msgspec.field(default_factory=dict)


class Alert(Message, frozen=True, kw_only=True):
    """Something an operator should know. Topic: ``system.alert.<node>`` (reliable). Since 1.0."""

    TYPE = "system.alert"
    node: str
    level: AlertLevel
    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class NodeConfig(Message, frozen=True, kw_only=True):
    """A node's effective configuration after a change. Topic: ``system.config.<node>``."""

    TYPE = "system.config"
    node: str
    config: dict[str, Any]
    changed: list[str] = msgspec.field(default_factory=list)


class Welcome(Message, frozen=True, kw_only=True):
    """A publisher's answer to a welcome subscription: the subscriber's connection is live.

    ``positions`` (last epoch and seq of each reliable topic) let the subscriber fill what it
    missed while disconnected at once, instead of waiting for the next message.

    Topic: ``system.welcome.<token>``. Since 1.0.
    """

    TYPE = "system.welcome"
    node: str
    control: str
    topics: list[str] = msgspec.field(default_factory=list)
    positions: dict[str, Position] = msgspec.field(default_factory=dict)

"""Liveness of the system's nodes from their heartbeats (pure).

A node is ``ok`` (or ``degraded``, if its heartbeat says so) while its heartbeats arrive; after
``down_after`` intervals without one it is ``down``. :meth:`Liveness.check` returns each change
once, so the bridge raises one alert when a node goes down and one when it comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.messages import Heartbeat


@dataclass(slots=True)
class NodeHealth:
    """What the bridge knows about one node."""

    node: str
    kind: str
    pid: int
    interval: float
    last_seen: float
    uptime_s: float
    status: str
    reason: str | None
    down: bool = False
    beats: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """A node went down or came back."""

    node: str
    down: bool
    silent_s: float
    interval: float


class Liveness:
    """Heartbeats in, per-node status and down/up changes out."""

    def __init__(self, down_after: float = 3.0) -> None:
        self.down_after = down_after
        self.nodes: dict[str, NodeHealth] = {}

    def beat(self, heartbeat: Heartbeat, now: float) -> Change | None:
        """Record a heartbeat; returns a Change if the node was down (it is back)."""
        known = self.nodes.get(heartbeat.node)
        back = known is not None and known.down
        self.nodes[heartbeat.node] = NodeHealth(
            node=heartbeat.node,
            kind=heartbeat.kind,
            pid=heartbeat.pid,
            interval=max(heartbeat.interval_s, 0.05),
            last_seen=now,
            uptime_s=heartbeat.uptime_s,
            status=heartbeat.status,
            reason=heartbeat.reason,
            beats=(known.beats if known is not None else 0) + 1,
        )
        if back:
            return Change(heartbeat.node, False, 0.0, heartbeat.interval_s)
        return None

    def check(self, now: float) -> list[Change]:
        """Nodes that just went down (silent for ``down_after`` intervals)."""
        changes = []
        for health in self.nodes.values():
            silent = now - health.last_seen
            if not health.down and silent > self.down_after * health.interval:
                health.down = True
                changes.append(Change(health.node, True, silent, health.interval))
        return changes

    def report(self, now: float) -> dict[str, Any]:
        """``{"status": ok|degraded|down, "nodes": {...}}`` for ``/api/v1/health``."""
        nodes = {}
        for name, h in sorted(self.nodes.items()):
            silent = now - h.last_seen
            level = "down" if h.down else "degraded" if h.status == "degraded" else "ok"
            reason = h.reason
            if h.down:
                reason = f"no heartbeat for {silent:.1f} s (every {h.interval:g} s expected)"
            nodes[name] = {
                "status": level,
                "alive": not h.down,
                "kind": h.kind,
                "pid": h.pid,
                "last_heartbeat_s": round(silent, 3),
                "interval_s": h.interval,
                "uptime_s": h.uptime_s,
                "reason": reason,
            }
        levels = {n["status"] for n in nodes.values()}
        overall = "ok" if levels <= {"ok"} else "degraded"
        return {"status": overall, "nodes": nodes}

"""What the tap has seen on the bus: per-topic statistics and per-node liveness (pure).

Callers feed envelopes with the clock (:meth:`Catalog.observe`) and read rows; sequence
counters (gaps, lost, duplicates) come from the subscriber's tracker, so they are counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from nodes.runtime.rundir import NodeRecord
from nodes.runtime.sequence import TopicCounters
from nodes.tap import format as fmt
from nodes.tap.stats import Arrival, Window
from protocol import Envelope, messages, topics
from protocol.errors import ProtocolError
from protocol.messages import Heartbeat, Welcome

#: Missing this many heartbeats makes a node "silent" (DESIGN.md §5).
MISSED_BEATS = 3


@dataclass(slots=True)
class TopicRecord:
    """One topic as seen by the tap."""

    topic: str
    window: Window
    types: set[str] = field(default_factory=set)
    publishers: dict[str, str] = field(default_factory=dict)
    last_seq: int = 0
    last_t: float | None = None


@dataclass(slots=True)
class NodeSighting:
    """The newest heartbeat of a node and when it came."""

    heartbeat: Heartbeat
    t: float


class Catalog:
    """Every topic and node seen so far."""

    def __init__(self, *, window: int = 200, horizon: float = 5.0) -> None:
        self.window = window
        self.horizon = horizon
        self.topics: dict[str, TopicRecord] = {}
        self.nodes: dict[str, NodeSighting] = {}

    def record(self, topic: str) -> TopicRecord:
        """The record of ``topic`` (created empty)."""
        found = self.topics.get(topic)
        if found is None:
            found = self.topics[topic] = TopicRecord(topic, Window(self.window, self.horizon))
        return found

    def observe(self, env: Envelope, size: int, now: float, now_ns: int) -> None:
        """Account for one received message."""
        rec = self.record(env.topic)
        header = env.header
        rec.window.add(Arrival(now, size, header.t_origin_ns, header.t_pub_ns, now_ns))
        rec.types.add(header.type)
        rec.publishers[header.src] = header.epoch
        rec.last_seq = header.seq
        rec.last_t = now
        if env.topic.startswith(topics.HEARTBEAT_PREFIX):
            self._heartbeat(env, now)

    def _heartbeat(self, env: Envelope, now: float) -> None:
        try:
            beat = env.message()
        except ProtocolError:
            return
        if isinstance(beat, Heartbeat):
            self.nodes[beat.node] = NodeSighting(beat, now)

    def learn(self, welcome: Welcome) -> None:
        """Topics a publisher says it has, so idle ones are listed too."""
        for topic in welcome.topics:
            rec = self.record(topic)
            rec.publishers.setdefault(welcome.node, "")
            position = welcome.positions.get(topic)
            if position is not None and rec.last_seq == 0:
                rec.last_seq = position.seq
                rec.publishers[welcome.node] = position.epoch


def _types(rec: TopicRecord) -> str:
    if rec.types:
        return ",".join(sorted(rec.types)) if len(rec.types) < 3 else f"{len(rec.types)} types"
    declared = messages.types_for_topic(rec.topic)
    return declared[0] if len(declared) == 1 else "-"


def _publisher(rec: TopicRecord) -> str:
    return ",".join(f"{src}@{epoch[:6]}" if epoch else src for src, epoch in rec.publishers.items())


def topic_row(rec: TopicRecord, counters: TopicCounters | None, now: float) -> dict[str, Any]:
    """One topic as a plain map (for JSON and the table)."""
    window = rec.window
    return {
        "topic": rec.topic,
        "class": str(topics.delivery_of(rec.topic).name).lower(),
        "types": sorted(rec.types) or list(messages.types_for_topic(rec.topic)),
        "publishers": dict(rec.publishers),
        "rate_hz": round(window.rate(now), 3),
        "bandwidth_bps": round(window.bandwidth(now), 1),
        "received": window.count,
        "last_seq": rec.last_seq,
        "gaps": counters.gaps if counters else 0,
        "lost": counters.missed if counters else 0,
        "duplicates": counters.duplicates if counters else 0,
        "epochs": counters.epochs if counters else 0,
        "age_s": None if rec.last_t is None else round(now - rec.last_t, 3),
    }


TOPIC_HEADERS = (
    "TOPIC",
    "TYPE",
    "CLASS",
    "PUBLISHER",
    "HZ",
    "BW/s",
    "SEQ",
    "GAPS",
    "LOST",
    "DUP",
    "AGE",
)


def topic_cells(row: dict[str, Any], rec: TopicRecord) -> list[str]:
    """Table cells of a topic row."""
    return [
        row["topic"],
        _types(rec),
        row["class"],
        _publisher(rec) or "-",
        fmt.rate(row["rate_hz"]),
        fmt.size(row["bandwidth_bps"]) if row["bandwidth_bps"] else "-",
        str(row["last_seq"] or "-"),
        str(row["gaps"]),
        str(row["lost"]),
        str(row["duplicates"]),
        fmt.seconds(row["age_s"]),
    ]


def node_status(
    record: NodeRecord | None, seen: NodeSighting | None, now: float, waited: float
) -> str:
    """``up``, ``degraded: why``, ``silent``, ``starting`` or ``dead``."""
    if record is not None and record.is_stale():
        return "dead"
    if seen is None:
        return "silent" if waited >= MISSED_BEATS else "starting"
    beat = seen.heartbeat
    if now - seen.t > MISSED_BEATS * beat.interval_s:
        return "silent"
    return "up" if beat.status == "ok" else f"degraded: {beat.reason or 'no reason given'}"


def node_row(
    name: str, record: NodeRecord | None, seen: NodeSighting | None, now: float, waited: float
) -> dict[str, Any]:
    """One node as a plain map."""
    beat = seen.heartbeat if seen else None
    return {
        "node": name,
        "kind": record.kind if record else (beat.kind if beat else "?"),
        "pid": record.pid if record else (beat.pid if beat else None),
        "host": record.host if record else (beat.host if beat else None),
        "status": node_status(record, seen, now, waited),
        "uptime_s": beat.uptime_s if beat else None,
        "cpu_percent": beat.cpu_percent if beat else None,
        "rss_bytes": beat.rss_bytes if beat else None,
        "heartbeat_age_s": round(now - seen.t, 3) if seen else None,
        "pub": record.pub if record else (beat.endpoints.get("pub") if beat else None),
        "control": record.control if record else (beat.endpoints.get("control") if beat else None),
    }


NODE_HEADERS = ("NODE", "KIND", "PID", "STATUS", "UPTIME", "CPU%", "RSS", "BEAT", "PUB")


def node_cells(row: dict[str, Any]) -> list[str]:
    """Table cells of a node row."""
    cpu = row["cpu_percent"]
    return [
        row["node"],
        row["kind"],
        str(row["pid"] or "-"),
        row["status"],
        fmt.seconds(row["uptime_s"]),
        "-" if cpu is None else f"{cpu:.0f}",
        fmt.size(row["rss_bytes"]) if row["rss_bytes"] else "-",
        fmt.seconds(row["heartbeat_age_s"]),
        row["pub"] or "-",
    ]


def heartbeat_topics(catalog: Catalog) -> dict[str, float]:
    """Topic -> publisher-side rate from the newest heartbeats."""
    rates: dict[str, float] = {}
    for seen in catalog.nodes.values():
        rates.update(seen.heartbeat.rates)
    return rates


def as_builtins(value: Any) -> Any:
    """Plain values (for JSON output)."""
    return msgspec.to_builtins(value)

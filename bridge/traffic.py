"""What flows through the bridge, per topic: a sink that sees every bus message (pure).

:class:`Traffic` is added to the hub like a client, wants every topic the hub receives (it adds
no bus interest of its own) and keeps, per topic: the newest ``(epoch, seq)``, message and byte
counts in and out, the receive rate over a short window and the bus latency (publish to arrival).
From heartbeats it keeps each publisher's own rate per topic, so ``/api/v1/topics`` shows rates
for topics the bridge is not subscribed to as well.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from bridge.item import Item
from protocol import topics
from protocol.errors import ProtocolError
from protocol.messages import Heartbeat

WINDOW: Final = 5.0  # seconds over which rates are measured


@dataclass(slots=True)
class TopicTraffic:
    """Counters of one topic."""

    topic: str
    type: str = ""
    source: str = ""
    epoch: str = ""
    seq: int = 0
    received: int = 0
    bytes_in: int = 0
    sent: int = 0
    bytes_out: int = 0
    last_arrival: float | None = None
    bus_latency_ms: float | None = None
    recent: deque[float] = field(default_factory=deque)

    def rate(self, now: float) -> float:
        """Messages per second received over the last :data:`WINDOW` seconds."""
        while self.recent and self.recent[0] < now - WINDOW:
            self.recent.popleft()
        if not self.recent:
            return 0.0
        span = max(min(WINDOW, now - self.recent[0]), 1.0)
        return round(len(self.recent) / span, 2)


class Traffic:
    """A hub sink that counts, per topic, what arrives and what goes out."""

    def __init__(self, clock: Any = time.time_ns) -> None:
        self.topics: dict[str, TopicTraffic] = {}
        self.published: dict[str, tuple[str, float]] = {}  # topic -> (node, publisher's rate)
        self.positions: dict[str, tuple[str, int]] = {}
        self.clock = clock

    # -- the hub's side (Sink) -------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        return True

    def offer(self, item: Item) -> None:
        entry = self.entry(item.topic)
        entry.type, entry.source = item.type, item.src
        entry.epoch, entry.seq = item.epoch, item.seq
        entry.received += 1
        entry.bytes_in += item.size
        entry.last_arrival = item.arrived
        entry.recent.append(item.arrived)
        if len(entry.recent) > 4096:
            entry.recent.popleft()
        if item.t_pub_ns:
            entry.bus_latency_ms = round((self.clock() - item.t_pub_ns) / 1e6, 3)
        if item.topic.startswith(topics.HEARTBEAT_PREFIX):
            self._heartbeat(item)

    def check_tip(self, topic: str, epoch: str, seq: int) -> None:
        self.positions[topic] = (epoch, seq)

    # -- counting ---------------------------------------------------------------------------

    def entry(self, topic: str) -> TopicTraffic:
        """The counters of ``topic`` (created on first use)."""
        found = self.topics.get(topic)
        if found is None:
            found = self.topics[topic] = TopicTraffic(topic)
        return found

    def out(self, topic: str, size: int) -> None:
        """One message of ``topic`` (``size`` bytes) written to a client."""
        entry = self.entry(topic)
        entry.sent += 1
        entry.bytes_out += size

    def _heartbeat(self, item: Item) -> None:
        try:
            beat = item.message()
        except ProtocolError:
            return
        if not isinstance(beat, Heartbeat):
            return
        for topic, rate in beat.rates.items():
            self.published[topic] = (beat.node, rate)
        for topic, position in beat.positions.items():
            self.positions[topic] = (position.epoch, position.seq)

    # -- reporting --------------------------------------------------------------------------

    def report(
        self, now: float, known: dict[str, str], subscribers: dict[str, dict[str, int]]
    ) -> list[dict[str, Any]]:
        """One map per topic, sorted by name.

        ``known`` maps topics the publishers announced to their node; ``subscribers`` counts
        WebSocket subscriptions and MJPEG watchers per topic.
        """
        names = set(self.topics) | set(known) | set(self.published) | set(self.positions)
        names = {n for n in names if not n.startswith(topics.WELCOME_PREFIX)}
        return [self._one(name, now, known, subscribers.get(name, {})) for name in sorted(names)]

    def _one(
        self, name: str, now: float, known: dict[str, str], subscribers: dict[str, int]
    ) -> dict[str, Any]:
        entry = self.topics.get(name) or TopicTraffic(name)
        node, publish_hz = self.published.get(name, (known.get(name, entry.source), None))
        epoch, seq = self.positions.get(name, (entry.epoch, entry.seq))
        if entry.seq and (epoch, seq) != (entry.epoch, entry.seq) and entry.epoch == epoch:
            seq = max(seq, entry.seq)
        age = None if entry.last_arrival is None else round((now - entry.last_arrival) * 1e3, 1)
        return {
            "topic": name,
            "delivery": delivery_name(name),
            "source": node or entry.source or known.get(name) or None,
            "type": entry.type or None,
            "epoch": epoch or None,
            "last_seq": seq or None,
            "publish_hz": publish_hz,
            "received_hz": entry.rate(now),
            "received": entry.received,
            "bytes_in": entry.bytes_in,
            "sent": entry.sent,
            "bytes_out": entry.bytes_out,
            "last_message_ms_ago": age,
            "bus_latency_ms": entry.bus_latency_ms,
            "subscribers": {"websocket": 0, "mjpeg": 0, **subscribers},
        }


def delivery_name(topic: str) -> str:
    """``latest``, ``stream``, ``reliable`` or ``reliable+latest``."""
    delivery = topics.delivery_of(topic)
    if topics.Delivery.RELIABLE in delivery and topics.Delivery.LATEST in delivery:
        return "reliable+latest"
    if topics.Delivery.RELIABLE in delivery:
        return "reliable"
    return "latest" if topics.Delivery.LATEST in delivery else "stream"

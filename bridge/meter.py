"""Counting what the bridge delivers, cheaply enough to run on every message (pure).

The WebSocket writer hands each written message to :meth:`Meter.wrote`. :func:`peek` reads the
topic and publish time out of the encoded bytes (a ``message`` in either format, or a binary
video frame) without decoding them, so the delivery latency (publish time to written on the
client's socket) lands in a :class:`Histogram` and the bytes in per-topic counters. Connection
counters (drops, acks, redeliveries, errors) are sampled from the sessions and kept for closed
connections too, so the totals only grow.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from bridge import wire

if TYPE_CHECKING:
    from bridge.traffic import Traffic

#: Upper bounds (seconds) of the delivery-latency buckets.
BUCKETS: Final = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
)  # fmt: skip
_JSON_MESSAGE: Final = b'{"op":"message"'
_JSON_SUBSCRIBED: Final = b'{"op":"subscribed"'
_MSGPACK_MESSAGE: Final = bytes([0x8A]) + b"\xa2op\xa7message"
_MSGPACK_SUBSCRIBED: Final = b"\xa2op\xaasubscribed"
_T_PUB_MSGPACK: Final = b"\xa8t_pub_ns"
_TOPIC_MSGPACK: Final = b"\xa5topic"
#: Connection counters sampled from sessions (name -> what it counts).
COUNTERS: Final = {
    "messages": "messages written to clients (every kind)",
    "dropped": "messages dropped for slow clients (conflated, queue overflow, shed)",
    "acks": "ack messages received",
    "redelivered": "reliable messages written again after the ack timeout",
    "errors": "error replies sent to clients",
    "rate_limited": "client messages refused by the per-connection rate limit",
}


@dataclass(frozen=True, slots=True)
class Peeked:
    """What :func:`peek` found in an encoded message."""

    topic: bytes
    t_pub_ns: int
    frame: bool


def peek(data: bytes, binary: bool) -> Peeked | None:
    """Topic and publish time of an encoded ``message`` or video frame (None: something else)."""
    if binary and data[:1] == b"\x01" and len(data) >= wire.FRAME_HEADER.size:
        fields = wire.FRAME_HEADER.unpack_from(data)
        size = fields[2]
        return Peeked(bytes(data[wire.FRAME_HEADER.size : size]), fields[6], True)
    if data.startswith(_JSON_MESSAGE):
        return _peek_json(data)
    if data.startswith(_MSGPACK_MESSAGE):
        return _peek_msgpack(data)
    return None


def _peek_json(data: bytes) -> Peeked | None:
    start = data.find(b'"topic":"', 0, 200)
    if start < 0:
        return None
    start += 9
    end = data.find(b'"', start)
    at = data.find(b'"t_pub_ns":', end, end + 600)
    if end < 0 or at < 0:
        return None
    at += 11
    stop = data.find(b",", at, at + 24)
    try:
        return Peeked(data[start:end], int(data[at:stop]), False)
    except ValueError:
        return None


def _peek_msgpack(data: bytes) -> Peeked | None:
    at = data.find(_TOPIC_MSGPACK, 0, 64)
    if at < 0:
        return None
    topic, after = _str(data, at + len(_TOPIC_MSGPACK))
    at = data.find(_T_PUB_MSGPACK, after, after + 600)
    if topic is None or at < 0:
        return None
    value = _int(data, at + len(_T_PUB_MSGPACK))
    return None if value is None else Peeked(topic, value, False)


def _str(data: bytes, at: int) -> tuple[bytes | None, int]:
    if at >= len(data):
        return None, at
    lead = data[at]
    if 0xA0 <= lead <= 0xBF:
        size, at = lead & 0x1F, at + 1
    elif lead == 0xD9 and at + 1 < len(data):
        size, at = data[at + 1], at + 2
    else:
        return None, at
    return data[at : at + size], at + size


def _int(data: bytes, at: int) -> int | None:
    if at >= len(data):
        return None
    lead = data[at]
    if lead <= 0x7F:
        return lead
    widths = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
    width = widths.get(lead)
    if width is None or at + 1 + width > len(data):
        return None
    return int.from_bytes(data[at + 1 : at + 1 + width], "big", signed=lead >= 0xD0)


def unrecovered(data: bytes) -> bool:
    """Whether a control message is a ``subscribed`` reply saying a resume was not recovered."""
    if data.startswith(_JSON_SUBSCRIBED):
        return b'"unrecovered":' in data
    return data.find(_MSGPACK_SUBSCRIBED, 0, 16) > 0 and b"\xabunrecovered" in data


@dataclass(slots=True)
class Histogram:
    """Cumulative-ready bucket counts and the sum of observed values (seconds)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus wants them, ending with ``+Inf``."""
        out, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out

    def quantile(self, q: float) -> float | None:
        """An upper bound of the ``q`` quantile (the bucket it falls in)."""
        total = self.count
        if not total:
            return None
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            if running >= q * total:
                return bound
        return float("inf")


class Meter:
    """Delivery counters of one bridge process."""

    def __init__(self, traffic: Traffic | None = None) -> None:
        self.traffic = traffic
        self.latency = {"frame": Histogram(), "message": Histogram(), "mjpeg": Histogram()}
        self.out: Counter[bytes] = Counter()
        self.out_bytes: Counter[bytes] = Counter()
        self.events: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._live: dict[str, dict[str, int]] = {}
        self._retired: Counter[str] = Counter()

    def wrote(self, data: bytes, binary: bool, now_ns: int) -> None:
        """A message was written to a client's socket at ``now_ns`` (wall clock)."""
        found = peek(data, binary)
        if found is None:
            if not binary or data[:1] != b"\x01":
                self._control(data)
            return
        self.out[found.topic] += 1
        self.out_bytes[found.topic] += len(data)
        if found.t_pub_ns > 0:
            kind = "frame" if found.frame else "message"
            self.latency[kind].observe(max(0.0, (now_ns - found.t_pub_ns) / 1e9))
        if self.traffic is not None:
            self.traffic.out(found.topic.decode(errors="replace"), len(data))

    def _control(self, data: bytes) -> None:
        if unrecovered(data):
            self.events["resumes_unrecovered"] += 1

    def count(self, event: str, n: int = 1) -> None:
        """Count a connection event (``opened``, ``closed``, ``resumes``, ``mjpeg_frames`` ...)."""
        self.events[event] += n

    def refuse(self, reason: str) -> None:
        """Count a refused connection or request (``rate_limited``, ``origin`` ...)."""
        self.refused[reason] += 1

    def sample(self, key: str, counters: dict[str, int]) -> None:
        """The current counters of a live connection (they only grow: keep the highest)."""
        seen = self._live.setdefault(key, {})
        for name, value in counters.items():
            if value > seen.get(name, 0):
                seen[name] = value

    def retire(self, key: str) -> None:
        """A connection closed: its last counters go to the totals."""
        self._retired.update(self._live.pop(key, {}))

    def totals(self) -> dict[str, int]:
        """Connection counters of every connection, live and closed."""
        totals = Counter(self._retired)
        for seen in self._live.values():
            totals.update(seen)
        return {name: totals.get(name, 0) for name in COUNTERS}


def session_counters(session: Any) -> dict[str, int]:
    """The counters :data:`COUNTERS` names, read from a :class:`~bridge.session.Session`."""
    dropped = sum(s.dropped for sub in session.subs.values() for s in sub.streams.values())
    counts = session.counts
    return {
        "messages": session.outbox.messages,
        "dropped": dropped,
        "acks": counts["acks"],
        "redelivered": session.outbox.redelivered,
        "errors": counts["errors"],
        "rate_limited": counts["rate_limited"],
    }

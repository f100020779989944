"""One client subscription: what it covers on the bus and its streams, one per topic (pure).

A subscription names a topic or a prefix at a dot. Each concrete topic it receives gets a
:class:`~bridge.stream.Stream` in the subscription's mode: the mode the client asked for, or
the topic's class default (``reliable`` for reliable topics, ``latest`` for latest ones,
``queue`` for streams). ``reliable`` applies to the reliable topics under the prefix; other
topics there keep their default. Video frames are always conflated and only flow for a named
camera and rendition (each rendition costs an encode in the vision node while subscribed).
"""

from __future__ import annotations

from typing import Any

from bridge.item import Item, is_frame
from bridge.option import Options, default_mode
from bridge.reliable import FetchRequest, ReliableLimits, ReliableStream
from bridge.stream import Budget, LatestStream, QueueStream, Stream
from protocol import topics
from protocol.messages import Position


class Subscription:
    """One entry of a connection's subscription registry."""

    def __init__(
        self,
        id: int,
        options: Options,
        budget: Budget,
        limits: ReliableLimits,
        request_fetch: FetchRequest,
    ) -> None:
        self.id = id
        self.options = options
        self.prefix = options.prefix
        self.budget = budget
        self.limits = limits
        self.request_fetch = request_fetch
        self.streams: dict[str, Stream] = {}
        self.attached = False
        self.confirmed = False
        self.filtered = 0
        self.request: int | str | None = None
        self.tips: dict[str, Position] = {}

    def covers(self, topic: str) -> bool:
        """Whether messages of ``topic`` belong to this subscription."""
        if self.options.frame_topic:
            return topic == self.options.frame_topic
        return topics.matches(self.prefix, topic) and not is_frame(topic)

    def mode_for(self, topic: str) -> str:
        """The delivery mode of one concrete topic under this subscription."""
        default = default_mode(topic)
        if self.options.mode is None or is_frame(topic):
            return default
        if self.options.mode == "reliable" and default != "reliable":
            return default
        return self.options.mode

    @property
    def mode(self) -> str:
        """The mode to report: the one asked for, or the default of an exact topic, or 'auto'."""
        if self.options.mode is not None:
            return self.options.mode
        if self.options.frame_topic:
            return "latest"
        if topics.spec_for(self.prefix) is not None:
            return default_mode(self.prefix)
        return "auto"

    def stream(self, topic: str) -> Stream:
        """The stream of ``topic``, created on first use. A reliable topic met only after the
        subscription began had no history the hub knew of then (the hub knows every
        publisher's positions before it attaches a subscription): all of its history is new,
        so its stream starts before any, and asks for what the bus did not bring (its first
        messages may be published before the bus subscription reaches their publisher)."""
        found = self.streams.get(topic)
        if found is None:
            if self.attached and self.mode_for(topic) == "reliable":
                found = self._new_stream(topic, epoch="", next_seq=1)
            else:
                found = self._new_stream(topic)
            self.streams[topic] = found
        return found

    def _new_stream(self, topic: str, **reliable: Any) -> Stream:
        mode = self.mode_for(topic)
        if mode == "reliable":
            return ReliableStream(topic, self.budget, self.limits, self.request_fetch, **reliable)
        if mode == "queue":
            return QueueStream(topic, self.budget, self.options.queue, self.options.max_hz)
        return LatestStream(topic, self.budget, self.options.max_hz)

    def start(self, tips: dict[str, Position]) -> None:
        """Create reliable streams at the publishers' current positions, and resuming ones.

        Without ``since`` a reliable stream starts after the tip (for reliable+latest topics,
        at the tip: the current value is delivered first). With ``since`` it starts after the
        client's position and asks history for what it missed.
        """
        self.attached = True
        for topic, tip in tips.items():
            if topic in self.options.since or not self.covers(topic):
                continue
            if self.mode_for(topic) == "reliable":
                latest = topics.is_latest(topic)
                start = tip.seq if latest else tip.seq + 1
                stream = self._new_stream(topic, epoch=tip.epoch, next_seq=start)
                if latest and isinstance(stream, ReliableStream):
                    stream.check_tip(tip.epoch, tip.seq)  # the current value, from history
                self.streams[topic] = stream
        exact = self.prefix if self.exact_reliable() else ""
        if exact and exact not in tips and exact not in self.options.since:
            # no history yet: everything of the first history that appears is new
            self.streams[exact] = self._new_stream(exact, epoch="", next_seq=1)
        for topic, position in self.options.since.items():
            self.streams[topic] = self._new_stream(
                topic, epoch=position.epoch, next_seq=position.seq + 1, resuming=True
            )

    def exact_reliable(self) -> bool:
        """Whether the subscription names one reliable topic delivered reliably."""
        prefix = self.prefix
        return (
            topics.spec_for(prefix) is not None
            and not prefix.endswith(".")
            and self.mode_for(prefix) == "reliable"
        )

    def offer(self, item: Item, now: float) -> Stream | None:
        """Take a live message; returns its stream if that has something to send."""
        if not self.attached:
            return None  # the hub has not given its positions yet: history covers this
        if self.options.filter is not None and not self.options.filter.accepts(item):
            self.filtered += 1
            return None
        stream = self.stream(item.topic)
        return stream if stream.offer(item, now) else None

    def resolved(self) -> bool:
        """Whether every resuming stream knows its outcome (the reply can go out)."""
        return all(
            not isinstance(s, ReliableStream) or s.resolution is not None or not s.resuming
            for s in self.streams.values()
        )

    def reply(self, tips: dict[str, Position]) -> dict[str, Any]:
        """The ``subscribed`` map: recovered (all or nothing) and the positions per topic."""
        positions = {t: {"epoch": p.epoch, "seq": p.seq} for t, p in tips.items() if self.covers(t)}
        if self.exact_reliable() and self.prefix not in positions:
            positions[self.prefix] = {"epoch": "", "seq": 0}
        unrecovered: dict[str, str] = {}
        for topic, stream in self.streams.items():
            if isinstance(stream, ReliableStream) and stream.resolution is not None:
                res = stream.resolution
                positions[topic] = {"epoch": res.epoch, "seq": res.seq}
                if not res.recovered:
                    unrecovered[topic] = res.reason
        reply: dict[str, Any] = {
            "op": "subscribed",
            "sub": self.id,
            "topic": self.prefix,
            "mode": self.mode,
            "recovered": not unrecovered,
            "positions": positions,
        }
        if self.options.frame_topic:
            reply["frames"] = self.options.frame_topic
        if unrecovered:
            reply["unrecovered"] = unrecovered
        return reply

    def status(self, now: float) -> dict[str, Any]:
        """Counters of this subscription: queued, dropped, unacked, lag and more."""
        queued = dropped = unacked = sent = redelivered = 0
        oldest: float | None = None
        for stream in self.streams.values():
            queued += stream.queued()
            dropped += stream.dropped
            sent += stream.sent
            if isinstance(stream, ReliableStream):
                unacked += stream.unacked()
                redelivered += stream.redelivered
            first = stream.oldest()
            if first is not None and (oldest is None or first < oldest):
                oldest = first
        lag = 0.0 if oldest is None else max(0.0, (now - oldest) * 1e3)
        return {
            "topic": self.prefix,
            "mode": self.mode,
            "queued": queued,
            "dropped": dropped,
            "unacked": unacked,
            "lag_ms": round(lag, 3),
            "sent": sent,
            "redelivered": redelivered,
            "filtered": self.filtered,
        }

    def clear(self) -> None:
        """Release everything the streams hold."""
        for stream in self.streams.values():
            stream.clear()
        self.streams.clear()

"""The publishing side of a node: one XPUB socket, sequence numbers, journal and last values.

Every message gets ``(epoch, seq)`` for its topic: reliable topics take the journal's epoch and
continue their sequence across restarts; other topics take a per-process epoch. Reliable
messages are journalled before they are sent. The XPUB socket tells the node which prefixes
someone subscribes to (so frames are encoded only while watched) and answers welcome
subscriptions so subscribers know their connection is live.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

import zmq
import zmq.asyncio

from nodes.runtime.bus import Bus
from nodes.runtime.journal import Journal, new_epoch
from protocol import Header, encode_header, messages, topics
from protocol.envelope import Buffer
from protocol.errors import TopicError
from protocol.messages import Message, Position

log = logging.getLogger(__name__)

InterestCallback = Callable[[str, bool], None]


class Publisher:
    """Stamps, journals and sends messages on one XPUB socket."""

    def __init__(
        self,
        bus: Bus,
        node: str,
        endpoint: str,
        *,
        control_endpoint: str,
        journal: Journal | None = None,
    ) -> None:
        self.node = node
        self.control_endpoint = control_endpoint
        self.journal = journal
        self.epoch = new_epoch()
        self.socket = bus.socket(zmq.XPUB, linger_ms=200)
        self.socket.bind(endpoint)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._send: zmq.Socket[bytes] = zmq.Socket.shadow(self.socket.underlying)
        self._seq: dict[str, int] = {}
        self._last: dict[str, list[bytes]] = {}
        self.interest: set[str] = set()
        self.on_interest: list[InterestCallback] = []
        self.sent: Counter[str] = Counter()
        self.sent_bytes = 0

    def _next(self, topic: str, reliable: bool) -> tuple[str, int]:
        if reliable:
            if self.journal is None:
                raise RuntimeError(f"{topic} is reliable but {self.node} has no journal")
            seq = self.journal.last_seq(topic) + 1
            return self.journal.epoch, seq
        seq = self._seq.get(topic, 0) + 1
        self._seq[topic] = seq
        return self.epoch, seq

    def publish(
        self,
        topic: str,
        message: Message,
        *,
        t_origin_ns: int | None = None,
        blobs: Sequence[Buffer] = (),
    ) -> Header:
        """Stamp and send ``message`` on ``topic``; returns the header it was sent with."""
        return self.publish_encoded(
            topic, message.TYPE, messages.encode(message), t_origin_ns=t_origin_ns, blobs=blobs
        )

    def publish_encoded(
        self,
        topic: str,
        type_: str,
        body: bytes,
        *,
        t_origin_ns: int | None = None,
        blobs: Sequence[Buffer] = (),
    ) -> Header:
        """Like :meth:`publish` for a body already encoded (replayed or hand-made messages)."""
        reliable = topics.is_reliable(topic)
        epoch, seq = self._next(topic, reliable)
        now = time.time_ns()
        header = Header(
            type=type_,
            src=self.node,
            epoch=epoch,
            seq=seq,
            t_origin_ns=now if t_origin_ns is None else t_origin_ns,
            t_pub_ns=now,
        )
        head = encode_header(header)
        if reliable:
            assert self.journal is not None
            self.journal.append(topic, seq, now, head, body)
        frames: list[Buffer] = [topic.encode(), head, body, *blobs]
        if topics.is_latest(topic):
            self._last[topic] = [bytes(f) for f in frames]
        self._send.send_multipart(frames, copy=False)
        self.sent[topic] += 1
        self.sent_bytes += sum(len(f) for f in frames)
        return header

    def last(self, topic: str) -> list[bytes] | None:
        """Frames of the newest message of a topic (latest topics, then the journal)."""
        cached = self._last.get(topic)
        if cached is not None:
            return cached
        if self.journal is not None and topics.is_reliable(topic):
            stored = self.journal.last(topic)
            if stored is not None:
                return [topic.encode(), stored.header, stored.body]
        return None

    def known_topics(self) -> list[str]:
        """Every topic this publisher has sent on (or has history for)."""
        names = set(self._seq) | set(self._last)
        if self.journal is not None:
            names |= set(self.journal.positions())
        return sorted(names)

    def positions(self) -> dict[str, Position]:
        """``(epoch, last seq)`` of every reliable topic in the journal."""
        if self.journal is None:
            return {}
        epoch = self.journal.epoch
        return {t: Position(epoch=epoch, seq=s) for t, s in self.journal.positions().items()}

    def wanted(self, topic: str) -> bool:
        """Whether some subscriber's prefix covers ``topic``."""
        return any(topics.matches(prefix, topic) for prefix in self.interest)

    async def run(self) -> None:
        """Read subscription messages forever: track interest and answer welcomes.

        Sends on the shadow socket make libzmq process the socket's commands, which can
        swallow the edge-triggered wake-up of the asyncio socket; so it also polls every
        50 ms and drains what is there, rather than trusting the wake-up alone.
        """
        while True:
            await self.socket.poll(50)
            while True:
                try:
                    frame = self._send.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_subscription(frame)

    def _on_subscription(self, frame: bytes) -> None:
        if not frame:
            return
        subscribed, prefix = frame[0] == 1, frame[1:].decode(errors="replace")
        if prefix.startswith(topics.WELCOME_PREFIX):
            if subscribed:
                self._welcome(prefix)
            return
        if subscribed:
            self.interest.add(prefix)
        else:
            self.interest.discard(prefix)
        log.debug("interest %s %r", "+" if subscribed else "-", prefix)
        for callback in self.on_interest:
            callback(prefix, subscribed)

    def _welcome(self, topic: str) -> None:
        try:
            topics.validate(topic)
        except TopicError:
            return
        welcome = messages.Welcome(
            node=self.node,
            control=self.control_endpoint,
            topics=self.known_topics(),
            positions=self.positions(),
        )
        self.publish(topic, welcome)
        self._seq.pop(topic, None)

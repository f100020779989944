"""The subscribing side: one SUB socket to every publisher of the system, with sequence checks.

- Discovery: connects to the pub endpoint of every node record in the run dir (and to static
  ``peers``), and follows nodes as they come and go.
- Welcome: subscribes to ``system.welcome.<token>``; each publisher answers on it, so the
  subscriber knows which publishers are live without sleeping (:meth:`Subscriber.wait_welcomed`).
- Sequences: every message is checked with :class:`~nodes.runtime.sequence.SequenceTracker`.
  Duplicates are dropped. A gap on a reliable topic is filled with ``replay`` requests to the
  publisher, in order, before later messages are delivered; a gap history cannot fill is counted
  and reported through ``on_gap``. Gaps on other topics are counted.
- Tails: welcomes and heartbeats carry each reliable topic's last ``(epoch, seq)``, so a message
  lost just before a quiet period is noticed and filled within a heartbeat.
- Snapshot: :meth:`Subscriber.snapshot` fetches current values of latest topics (Clone pattern).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from nodes.runtime.bus import Bus
from nodes.runtime.control import ControlClient, decode_stored
from nodes.runtime.logs import Once
from nodes.runtime.rundir import RunDir
from nodes.runtime.sequence import SequenceTracker, Verdict
from protocol import Envelope, messages, topics, unpack
from protocol.errors import ControlError, ProtocolError
from protocol.messages import Position

log = logging.getLogger(__name__)

MessageCallback = Callable[[Envelope], None]


@dataclass(frozen=True, slots=True)
class Gap:
    """Messages of a reliable topic that history could not give back."""

    topic: str
    src: str
    epoch: str
    first: int
    last: int
    reason: str


GapCallback = Callable[[Gap], None]


class Subscriber:
    """Receives bus messages for refcounted prefixes and hands each one, in order, to a callback."""

    def __init__(
        self,
        bus: Bus,
        *,
        name: str,
        on_message: MessageCallback,
        run_dir: RunDir | None = None,
        peers: Iterable[str] = (),
        hwm: int | None = None,
        fill_gaps: bool = True,
        on_gap: GapCallback | None = None,
        replay_batch: int = 1000,
    ) -> None:
        self.bus = bus
        self.name = name
        self.on_message = on_message
        self.on_gap = on_gap
        self.run_dir = run_dir
        self.peers = list(peers)
        self.fill_gaps = fill_gaps
        self.replay_batch = replay_batch
        self.socket = bus.socket(zmq.SUB, hwm=hwm)
        self._sync: zmq.Socket[bytes] = zmq.Socket.shadow(self.socket.underlying)
        self.token = f"{topics.name(name.replace('.', '-'))}-{secrets.token_hex(4)}"
        self.welcome_topic = topics.system_welcome(self.token)
        self.socket.setsockopt(zmq.SUBSCRIBE, self.welcome_topic.encode())
        self.prefixes: Counter[str] = Counter()
        self.tracker = SequenceTracker()
        self.endpoints: set[str] = set()
        self.welcomed: dict[str, messages.Welcome] = {}
        self.counts: Counter[str] = Counter()
        self._controls: dict[str, ControlClient] = {}
        self._filling: dict[str, list[Envelope]] = {}
        self._welcome_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._once = Once(log)

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, prefix: str) -> None:
        """Add one reference to ``prefix`` (a topic, or a prefix ending at a dot)."""
        topics.validate_prefix(prefix)
        self.prefixes[prefix] += 1
        if self.prefixes[prefix] == 1:
            self.socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def unsubscribe(self, prefix: str) -> None:
        """Drop one reference to ``prefix``; the socket unsubscribes when none are left."""
        if self.prefixes[prefix] <= 0:
            return
        self.prefixes[prefix] -= 1
        if self.prefixes[prefix] == 0:
            del self.prefixes[prefix]
            self.socket.setsockopt(zmq.UNSUBSCRIBE, prefix.encode())
            for topic in [t for t in self.tracker.topics if not self.wants(t)]:
                self.tracker.forget(topic)

    def wants(self, topic: str) -> bool:
        """Whether some subscribed prefix covers ``topic`` exactly (at a dot)."""
        return any(topics.matches(prefix, topic) for prefix in self.prefixes)

    # -- connections -----------------------------------------------------------------------

    def connect(self, endpoint: str) -> None:
        """Connect to a publisher endpoint (idempotent)."""
        if endpoint not in self.endpoints:
            self.socket.connect(endpoint)
            self.endpoints.add(endpoint)
            log.debug("connected to %s", endpoint)

    def disconnect(self, endpoint: str) -> None:
        """Disconnect from a publisher endpoint."""
        if endpoint in self.endpoints:
            self.endpoints.discard(endpoint)
            with contextlib.suppress(zmq.ZMQError):
                self.socket.disconnect(endpoint)

    def discover(self) -> None:
        """Connect to every live node of the run dir and the static peers; drop vanished ones."""
        wanted = set(self.peers)
        if self.run_dir is not None:
            records = self.run_dir.records().values()
            wanted |= {record.pub for record in records if record.name != self.name}
        for endpoint in sorted(wanted - self.endpoints):
            self.connect(endpoint)
        for endpoint in sorted(self.endpoints - wanted):
            self.disconnect(endpoint)

    async def _discover_forever(self, interval: float) -> None:
        while True:
            self.discover()
            await asyncio.sleep(interval)

    # -- receiving -------------------------------------------------------------------------

    async def run(self, discovery_interval: float = 0.5) -> None:
        """Discover publishers and receive forever (cancel to stop)."""
        discovery = asyncio.ensure_future(self._discover_forever(discovery_interval))
        try:
            while True:
                # A timeout, not just the wake-up: setsockopt and shadow-socket calls make
                # libzmq process commands, which can swallow the edge-triggered wake-up.
                await self.socket.poll(50)
                self._drain()
        finally:
            discovery.cancel()
            for task in list(self._tasks):
                task.cancel()

    def _drain(self) -> None:
        while True:
            try:
                frames = self._sync.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.feed(frames)

    def feed(self, frames: list[bytes]) -> None:
        """Handle one received multipart message (the protocol-error boundary of the socket)."""
        try:
            envelope = unpack(frames)
        except ProtocolError as exc:
            self.counts["malformed"] += 1
            self._once.warning("malformed", "dropped a malformed bus message: %s", exc)
            return
        if envelope.topic == self.welcome_topic:
            self._on_welcome(envelope)
        elif self.wants(envelope.topic):
            self._on_envelope(envelope)
        else:
            self.counts["unwanted"] += 1

    def _on_envelope(self, env: Envelope) -> None:
        topic = env.topic
        if topic in self._filling:
            self._filling[topic].append(env)
            return
        verdict, _ = self.tracker.check(topic, env.header.epoch, env.header.seq)
        if verdict is Verdict.DUPLICATE:
            self.counts["duplicates"] += 1
            return
        if verdict is Verdict.GAP:
            if self.fill_gaps and topics.is_reliable(topic):
                self._start_fill(env.header.src, topic, env.header.epoch, env.header.seq - 1, [env])
                return
            missed = self.tracker.skip(topic, env.header.seq)
            self.counts["missed"] += missed
        if verdict is Verdict.NEW_EPOCH:
            log.info("%s: new history epoch %s from %s", topic, env.header.epoch, env.header.src)
        self._deliver(env)
        if topic.startswith(topics.HEARTBEAT_PREFIX):
            self._check_tails(env)

    def _deliver(self, env: Envelope) -> None:
        self.counts["delivered"] += 1
        self.on_message(env)

    # -- welcomes, tails and gap filling -----------------------------------------------------

    def _on_welcome(self, env: Envelope) -> None:
        try:
            welcome = env.message()
        except ProtocolError as exc:
            self.counts["malformed"] += 1
            log.warning("bad welcome from %s: %s", env.header.src, exc)
            return
        assert isinstance(welcome, messages.Welcome)
        fresh = welcome.node not in self.welcomed
        self.welcomed[welcome.node] = welcome
        client = self._controls.get(welcome.node)
        if client is not None and client.endpoint != welcome.control:
            client.close()
            del self._controls[welcome.node]
        log.log(logging.INFO if fresh else logging.DEBUG, "publisher %s is live", welcome.node)
        self._welcome_event.set()
        self._check_positions(welcome.node, welcome.positions)

    def _check_tails(self, env: Envelope) -> None:
        try:
            heartbeat = env.message()
        except ProtocolError:
            return
        if isinstance(heartbeat, messages.Heartbeat):
            self._check_positions(heartbeat.node, heartbeat.positions)

    def _check_positions(self, node: str, positions: dict[str, Position]) -> None:
        if not self.fill_gaps:
            return
        for topic, position in positions.items():
            if not self.wants(topic) or topic in self._filling:
                continue
            mine = self.tracker.position(topic)
            if mine is not None and mine[0] == position.epoch and mine[1] < position.seq:
                self._start_fill(node, topic, position.epoch, position.seq, [])

    def _start_fill(
        self, src: str, topic: str, epoch: str, upto: int, held: list[Envelope]
    ) -> None:
        self._filling[topic] = held
        task = asyncio.ensure_future(self._fill(src, topic, epoch, upto))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill(self, src: str, topic: str, epoch: str, upto: int) -> None:
        reason = ""
        try:
            reason = await self._replay_into(src, topic, epoch, upto)
        except ControlError as exc:
            reason = f"replay from {src} failed: {exc}"
        finally:
            position = self.tracker.position(topic)
            if reason and position is not None and position[1] < upto:
                gap = Gap(topic, src, epoch, position[1] + 1, upto, reason)
                self.counts["missed"] += self.tracker.skip(topic, upto)
                log.warning("%s: lost seq %d-%d: %s", topic, gap.first, gap.last, reason)
                if self.on_gap is not None:
                    self.on_gap(gap)
            for env in self._filling.pop(topic, []):
                self._on_envelope(env)

    async def _replay_into(self, src: str, topic: str, epoch: str, upto: int) -> str:
        client = self.control(src)
        if client is None:
            return f"no control endpoint known for {src}"
        while True:
            position = self.tracker.position(topic)
            after = position[1] if position is not None else 0
            if after >= upto:
                return ""
            args = {"topic": topic, "after": after, "limit": self.replay_batch}
            reply = (await client.request("replay", args)).value
            if reply.get("epoch") != epoch:
                return f"{src} history of {topic} changed epoch"
            items = reply.get("messages") or []
            if int(reply.get("first", after + 1)) > after + 1 or not items:
                return f"{src} journal no longer holds {topic} seq {after + 1}"
            for item in items:
                env = unpack(decode_stored(item))
                if env.header.seq > upto:
                    return ""
                self.tracker.advance(topic, env.header.seq, filled=True)
                self.counts["filled"] += 1
                self._deliver(env)

    def control(self, node: str) -> ControlClient | None:
        """A control client for a node that welcomed us (or has a record in the run dir)."""
        client = self._controls.get(node)
        if client is not None:
            return client
        endpoint = self.welcomed[node].control if node in self.welcomed else None
        if endpoint is None and self.run_dir is not None:
            record = self.run_dir.read_record(node)
            endpoint = record.control if record is not None else None
        if endpoint is None:
            return None
        client = ControlClient(self.bus, endpoint, name=self.name, timeout=2.0, retries=2)
        self._controls[node] = client
        return client

    # -- waiting and snapshots -------------------------------------------------------------

    async def wait_welcomed(self, nodes: Iterable[str] = (), timeout: float = 10.0) -> None:
        """Wait until every named node (or any node, if none named) has welcomed us."""
        wanted = set(nodes)

        def done() -> bool:
            return wanted <= set(self.welcomed) if wanted else bool(self.welcomed)

        async with asyncio.timeout(timeout):
            while not done():
                self._welcome_event.clear()
                await self._welcome_event.wait()

    async def snapshot(self, prefix: str, *, reliable: bool = True) -> int:
        """Fetch current values of topics under ``prefix`` from every live publisher.

        They go through the same sequence checks as live messages, so a value that already
        arrived is not delivered twice. With ``reliable=False`` values of reliable topics are
        skipped: a snapshot of one would set this subscriber's baseline past messages still in
        flight, which it would then drop as duplicates (a reliable topic's current value comes
        from its history instead). A malformed reply is counted as ``bad_snapshots`` and the
        rest of it skipped. Returns how many messages were delivered.
        """
        before = self.counts["delivered"]
        for node in list(self.welcomed):
            client = self.control(node)
            if client is None:
                continue
            try:
                reply = await client.request("snapshot", {"prefix": prefix}, retries=1)
            except ControlError as exc:
                log.info("snapshot of %r from %s failed: %s", prefix, node, exc)
                continue
            self._feed_snapshot(reply.value, reply.blobs, reliable)
        return self.counts["delivered"] - before

    def _feed_snapshot(self, value: Any, blobs: list[bytes], reliable: bool) -> None:
        rest = iter(blobs)
        for stored in value.get("messages", []) if isinstance(value, dict) else []:
            try:
                frames = decode_stored(stored)
                frames += [next(rest) for _ in range(int(stored.get("blobs", 0)))]
            except (ControlError, StopIteration, ValueError, TypeError, AttributeError):
                self.counts["bad_snapshots"] += 1
                return
            if reliable or not topics.is_reliable(frames[0].decode(errors="replace")):
                self.feed(frames)

    def close(self) -> None:
        """Close control clients (the Bus closes the socket)."""
        for client in self._controls.values():
            client.close()
        self._controls.clear()

"""The ZeroMQ side of the bridge: one bus subscriber feeding every client.

- Interest: sessions (and video watchers) add and drop bus prefixes, refcounted by the one
  :class:`~nodes.runtime.subscriber.Subscriber`, so a rendition is subscribed (and encoded by
  its vision node) only while someone watches it.
- Fan-out: each bus message becomes one :class:`~bridge.item.Item`, handed to the sinks that
  want its topic. The per-topic target lists are a cache derived from the sinks' own
  registries (``sink.wants``) and dropped whenever a subscription changes: never a copy.
- Last values of latest topics for late joiners (else a bus snapshot), the positions (tips) of
  reliable topics from messages, welcomes and heartbeats, and their history for resume.
- Liveness: heartbeats of every node; one alert when a node goes down, one when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from bridge.health import Change, Liveness
from bridge.history import History
from bridge.item import Item, is_frame
from bridge.option import has_latest
from bridge.reliable import Fetched, Unavailable
from nodes.runtime import Bus, Gap, RunDir, Subscriber
from protocol import Envelope, topics
from protocol.errors import ControlError, ProtocolError
from protocol.messages import Heartbeat, Position, Welcome

log = logging.getLogger(__name__)

AlertCallback = Callable[..., None]


class Sink(Protocol):
    """Something that receives bus messages: a WebSocket connection or a video watcher."""

    def wants(self, topic: str) -> bool: ...

    def offer(self, item: Item) -> None: ...

    def check_tip(self, topic: str, epoch: str, seq: int) -> None: ...


class Hub:
    """One Subscriber, fan-out to sinks, last values, tips, history and liveness."""

    def __init__(
        self,
        bus: Bus,
        *,
        name: str,
        run_dir: RunDir | None,
        peers: Iterable[str] = (),
        history_messages: int = 10000,
        history_bytes: int = 16 * 2**20,
        down_after: float = 3.0,
        on_alert: AlertCallback | None = None,
    ) -> None:
        self.subscriber = Subscriber(
            bus,
            name=f"{name}-hub",  # not the node's own name: the bridge relays its own alerts too
            on_message=self._receive,
            run_dir=run_dir,
            peers=peers,
            on_gap=self._on_gap,
        )
        self.subscriber.subscribe(topics.HEARTBEAT_PREFIX)
        self.history = History(
            self._replay, self.source_of, max_messages=history_messages, max_bytes=history_bytes
        )
        self.liveness = Liveness(down_after)
        self.on_alert = on_alert
        self.sinks: dict[Sink, None] = {}
        self.cache: dict[str, Item] = {}
        self.tips: dict[str, Position] = {}
        self.sources: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self._targets: dict[str, list[Sink]] = {}
        self._welcomes: dict[str, Welcome] = {}
        self._fetches: dict[tuple[str, str, int, int], asyncio.Task[Fetched]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- running ---------------------------------------------------------------------------

    async def run(self, period: float = 0.2) -> None:
        """Receive from the bus and watch liveness and welcomes, until cancelled."""
        receiver = asyncio.ensure_future(self.subscriber.run())
        try:
            while not receiver.done():
                self._check_liveness(time.monotonic())
                self._check_welcomes()
                await asyncio.wait([receiver], timeout=period)
            receiver.result()
        finally:
            receiver.cancel()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver

    def close(self) -> None:
        """Close control clients (the Bus closes the socket)."""
        self.subscriber.close()

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a background task tied to the hub's life."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- sinks and interest ----------------------------------------------------------------

    def add(self, sink: Sink) -> None:
        """Start handing messages to ``sink``."""
        self.sinks[sink] = None
        self._targets.clear()

    def remove(self, sink: Sink) -> None:
        """Stop handing messages to ``sink``."""
        self.sinks.pop(sink, None)
        self._targets.clear()

    def changed(self) -> None:
        """Some sink's subscriptions changed: recompute targets on the next message."""
        self._targets.clear()

    def interest(self, prefixes: Iterable[str], add: bool) -> None:
        """Add or drop one reference to each bus prefix."""
        for prefix in prefixes:
            if add:
                self.subscriber.subscribe(prefix)
            else:
                self.subscriber.unsubscribe(prefix)
        if not add:
            for topic in [t for t in self.cache if not self.subscriber.wants(t)]:
                del self.cache[topic]
            for topic in [t for t in self.history.rings if not self.subscriber.wants(t)]:
                self.history.forget(topic)
        self._targets.clear()

    def targets(self, topic: str) -> list[Sink]:
        """Sinks that want ``topic`` (cached until a subscription changes)."""
        found = self._targets.get(topic)
        if found is None:
            found = self._targets[topic] = [s for s in self.sinks if s.wants(topic)]
        return found

    # -- receiving -------------------------------------------------------------------------

    def _receive(self, env: Envelope) -> None:
        topic = env.topic
        if topic.startswith(topics.WELCOME_PREFIX):
            return
        now = time.monotonic()
        item = Item.from_envelope(env, now)
        self.counts["received"] += 1
        self.sources[topic] = item.src
        delivery = topics.delivery_of(topic)
        if topics.Delivery.LATEST in delivery:
            self.cache[topic] = item
        if topics.Delivery.RELIABLE in delivery:
            self.history.append(item)
            self._advance(topic, Position(epoch=item.epoch, seq=item.seq))
        if topic.startswith(topics.HEARTBEAT_PREFIX):
            self._heartbeat(item, now)
        for sink in self.targets(topic):
            sink.offer(item)

    def _advance(self, topic: str, tip: Position) -> bool:
        old = self.tips.get(topic)
        if old is not None and old.epoch == tip.epoch and old.seq >= tip.seq:
            return False
        self.tips[topic] = tip
        return True

    def _heartbeat(self, item: Item, now: float) -> None:
        try:
            beat = item.message()
        except ProtocolError as exc:
            self.counts["bad_heartbeats"] += 1
            log.debug("bad heartbeat on %s: %s", item.topic, exc)
            return
        if not isinstance(beat, Heartbeat):
            return
        change = self.liveness.beat(beat, now)
        if change is not None:
            self._alert_change(change)
        self._positions(beat.node, beat.positions)

    def _positions(self, node: str, positions: dict[str, Position]) -> None:
        for topic, tip in positions.items():
            self.sources[topic] = node
            if self._advance(topic, tip):
                for sink in self.targets(topic):
                    sink.check_tip(topic, tip.epoch, tip.seq)

    def _on_gap(self, gap: Gap) -> None:
        self.counts["gaps"] += 1
        self.history.forget(gap.topic)
        log.warning("%s: %d-%d lost on the bus: %s", gap.topic, gap.first, gap.last, gap.reason)

    def _check_welcomes(self) -> None:
        for node, welcome in list(self.subscriber.welcomed.items()):
            if self._welcomes.get(node) is welcome:
                continue
            self._welcomes[node] = welcome
            for topic in welcome.topics:
                self.sources.setdefault(topic, node)
            self._positions(node, welcome.positions)
            prefixes = [p for p in self.subscriber.prefixes if p != topics.HEARTBEAT_PREFIX]
            if prefixes:
                self.spawn(self._snapshot(prefixes), f"snapshot-{node}")

    def _check_liveness(self, now: float) -> None:
        for change in self.liveness.check(now):
            self._alert_change(change)

    def _alert_change(self, change: Change) -> None:
        if self.on_alert is None:
            return
        if change.down:
            missed = change.silent_s / change.interval
            message = f"node {change.node} is down: no heartbeat for {change.silent_s:.1f} s"
            self.on_alert("error", "node_down", message, node=change.node, missed=round(missed))
        else:
            self.on_alert("info", "node_up", f"node {change.node} is back", node=change.node)

    # -- what sessions ask -----------------------------------------------------------------

    def source_of(self, topic: str) -> str | None:
        """The node that publishes ``topic``, if known."""
        found = self.sources.get(topic)
        if found is not None:
            return found
        for node, welcome in self.subscriber.welcomed.items():
            if topic in welcome.topics or topic in welcome.positions:
                return node
        return None

    def values(self, covers: Callable[[str], bool]) -> list[Item]:
        """Current values of the cached latest topics ``covers`` accepts, oldest first."""
        return sorted((i for t, i in self.cache.items() if covers(t)), key=lambda i: i.stamp)

    def positions(self, covers: Callable[[str], bool]) -> dict[str, Position]:
        """Tips of the reliable topics ``covers`` accepts."""
        return {t: p for t, p in self.tips.items() if covers(t)}

    def prime(self, prefixes: Iterable[str]) -> None:
        """Fetch current values of latest topics under ``prefixes`` nobody has sent yet."""
        missing = [
            p
            for p in prefixes
            if has_latest(p)
            and not is_frame(p)
            and not any(topics.matches(p, t) for t in self.cache)
        ]
        if missing:
            self.spawn(self._snapshot(missing), "snapshot")

    async def _snapshot(self, prefixes: list[str]) -> None:
        """Current values of latest topics (Clone pattern), never of reliable ones (those
        come from their history: see ``Subscriber.snapshot``)."""
        for prefix in prefixes:
            if not is_frame(prefix):
                await self.subscriber.snapshot(prefix, reliable=False)

    async def settle(self, timeout: float = 2.0) -> None:
        """Wait until every node of the run dir has welcomed the hub, so tips are known."""
        run_dir = self.subscriber.run_dir
        expected = set(run_dir.records()) if run_dir is not None else set()
        if expected <= set(self.subscriber.welcomed):
            return
        try:
            await self.subscriber.wait_welcomed(expected, timeout)
        except TimeoutError:
            missing = sorted(expected - set(self.subscriber.welcomed))
            log.info("no welcome from %s yet; going on without their positions", missing)

    async def fetch(self, topic: str, epoch: str, after: int, limit: int) -> Fetched:
        """History after a position; identical concurrent fetches share one read."""
        key = (topic, epoch, after, limit)
        task = self._fetches.get(key)
        if task is None:
            task = self.spawn(self._read(key), f"fetch-{topic}")
            self._fetches[key] = task
        return await asyncio.shield(task)

    async def _read(self, key: tuple[str, str, int, int]) -> Fetched:
        try:
            return await self.history.fetch(*key)
        except Exception as exc:
            log.exception("history fetch of %s failed", key[0])
            return Unavailable(f"history read failed: {exc}")
        finally:
            del self._fetches[key]

    async def _replay(self, node: str, topic: str, after: int, limit: int) -> dict[str, Any]:
        client = self.subscriber.control(node)
        if client is None:
            raise ControlError("unavailable", f"no control endpoint known for {node}")
        args = {"topic": topic, "after": after, "limit": limit}
        reply: dict[str, Any] = (await client.request("replay", args)).value
        return reply

    async def call(self, node: str, request: str, args: dict[str, Any]) -> Any:
        """A control request to a node; raises ControlError."""
        client = self.subscriber.control(node)
        if client is None:
            raise ControlError("not_found", f"no node {node!r} in this system")
        return (await client.request(request, args)).value

    def stats(self) -> dict[str, Any]:
        """Counters for heartbeats and ``/api/v1/health``."""
        return {
            "sinks": len(self.sinks),
            "received": self.counts["received"],
            "bus_gaps": self.counts["gaps"],
            "cached_topics": len(self.cache),
            "history_bytes": self.history.bytes(),
            "history_reads": dict(self.history.reads),
            "bus": dict(self.subscriber.counts),
            "interest": dict(self.subscriber.prefixes),
        }

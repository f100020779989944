"""History of reliable topics for resume: a bounded ring in memory, the journal behind it.

The hub appends every live message of a reliable topic to that topic's :class:`Ring` (messages
reach the hub in order, gaps already filled from the journal by the bus subscriber). A fetch is
served from the ring when it reaches back far enough, and otherwise from the publisher's journal
with the ``replay`` control request, topped up from the ring, so the answer always reaches what
the hub has delivered live at that instant (:attr:`Page.complete`). The bridge keeps nothing
that matters: after a restart the rings are empty and every resume reads the journals.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.item import Item
from bridge.reliable import Fetched, Lost, Page, Unavailable
from nodes.runtime.control import decode_stored
from protocol import unpack
from protocol.errors import ControlError, ProtocolError

log = logging.getLogger(__name__)

Replay = Callable[[str, str, int, int], Awaitable[dict[str, Any]]]


class Ring:
    """The newest contiguous messages of one reliable topic, bounded by count and bytes."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max(1, max_messages)
        self.max_bytes = max_bytes
        self.items: deque[Item] = deque()
        self.bytes = 0
        self.epoch = ""

    @property
    def first(self) -> int:
        """Oldest seq held (0 when empty)."""
        return self.items[0].seq if self.items else 0

    @property
    def last(self) -> int:
        """Newest seq held (0 when empty)."""
        return self.items[-1].seq if self.items else 0

    def append(self, item: Item) -> None:
        """Add the next live message; a discontinuity starts the ring over."""
        if self.items and (item.epoch != self.epoch or item.seq != self.last + 1):
            if item.epoch == self.epoch and item.seq <= self.last:
                return
            self.reset()
        self.epoch = item.epoch
        self.items.append(item)
        self.bytes += item.size
        while len(self.items) > self.max_messages or (
            self.bytes > self.max_bytes and len(self.items) > 1
        ):
            self.bytes -= self.items.popleft().size

    def reset(self) -> None:
        """Forget everything (history was lost, or nobody follows the topic any more)."""
        self.items.clear()
        self.bytes = 0

    def covers(self, epoch: str, after: int) -> bool:
        """Whether the ring holds everything after ``after`` (in ``epoch``)."""
        same = epoch in ("", self.epoch)  # "": whatever history there is, from its start
        return bool(self.items) and same and self.first <= after + 1 <= self.last + 1

    def after(self, seq: int, limit: int) -> list[Item]:
        """Up to ``limit`` messages after ``seq`` (the ring must cover it)."""
        start = max(0, seq + 1 - self.first)
        return list(itertools.islice(self.items, start, start + limit))


class History:
    """Rings of every reliable topic the hub receives, and journal reads behind them."""

    def __init__(
        self,
        replay: Replay,
        source: Callable[[str], str | None],
        *,
        max_messages: int,
        max_bytes: int,
    ) -> None:
        self.replay = replay
        self.source = source
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.rings: dict[str, Ring] = {}
        self.reads = {"ring": 0, "journal": 0, "lost": 0, "unavailable": 0}

    def append(self, item: Item) -> None:
        """Keep a live message of a reliable topic."""
        ring = self.rings.get(item.topic)
        if ring is None:
            ring = self.rings[item.topic] = Ring(self.max_messages, self.max_bytes)
        ring.append(item)

    def forget(self, topic: str) -> None:
        """Drop a topic's ring (its history was lost, or nobody follows it)."""
        self.rings.pop(topic, None)

    def bytes(self) -> int:
        """Memory the rings hold."""
        return sum(ring.bytes for ring in self.rings.values())

    async def fetch(self, topic: str, epoch: str, after: int, limit: int) -> Fetched:
        """Messages of ``topic`` after ``(epoch, after)``: a Page, or why not."""
        ring = self.rings.get(topic)
        if ring is not None and ring.covers(epoch, after):
            self.reads["ring"] += 1
            items = ring.after(after, limit)
            top = items[-1].seq if items else after
            return Page(items, top >= ring.last, ring.epoch, ring.last)
        result = await self._journal(topic, epoch, after, limit)
        if isinstance(result, Lost):
            self.reads["lost"] += 1
        elif isinstance(result, Unavailable):
            self.reads["unavailable"] += 1
        return result

    async def _journal(self, topic: str, epoch: str, after: int, limit: int) -> Fetched:
        node = self.source(topic)
        if node is None:
            return Unavailable(f"no publisher of {topic} is known (is it running?)")
        try:
            reply = await self.replay(node, topic, after, limit)
        except ControlError as exc:
            return Unavailable(f"{node} did not answer replay of {topic}: {exc}")
        self.reads["journal"] += 1
        j_epoch, first, last = str(reply["epoch"]), int(reply["first"]), int(reply["last"])
        if epoch and j_epoch != epoch:
            reason = f"{topic}: {node}'s history is epoch {j_epoch} now, not {epoch}"
            return Lost(reason, j_epoch, first, last)
        if after > last:
            reason = f"{topic}: position {after} is ahead of {node}'s history (last {last})"
            return Lost(reason, j_epoch, first, last)
        if first > after + 1:
            reason = f"{topic}: {node}'s history starts at seq {first}; {after + 1}.. are gone"
            return Lost(reason, j_epoch, first, last)
        items = self._items(reply.get("messages") or [])
        return self._top_up(topic, j_epoch, after, limit, items, last)

    @staticmethod
    def _items(stored: list[Any]) -> list[Item]:
        now = time.monotonic()
        items = []
        for entry in stored:
            try:
                items.append(Item.from_envelope(unpack(decode_stored(entry)), now))
            except (ProtocolError, ControlError) as exc:
                log.warning("unreadable message in a replay reply: %s", exc)
                break
        return items

    def _top_up(
        self, topic: str, epoch: str, after: int, limit: int, items: list[Item], last: int
    ) -> Page:
        top = items[-1].seq if items else after
        tip = last
        ring = self.rings.get(topic)
        if ring is not None and ring.epoch == epoch and ring.items:
            tip = max(tip, ring.last)
            if len(items) < limit and ring.covers(epoch, top):
                items = items + ring.after(top, limit - len(items))
                top = items[-1].seq if items else after
        return Page(items, top >= tip, epoch, tip)

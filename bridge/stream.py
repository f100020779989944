"""What waits to be written for one topic of one subscription: the three delivery modes (pure).

- :class:`LatestStream`: one slot; a newer message replaces an unsent one (conflation, counted
  as dropped). Optional ``max_hz`` sends on the trailing edge: the newest value always goes out.
- :class:`QueueStream`: a bounded FIFO; when full the oldest is dropped and counted.
- :class:`~bridge.reliable.ReliableStream` (in its own module): acked, windowed, resumable.

Streams know nothing about sockets or encodings; times are plain floats from the caller.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from bridge.item import Item


@dataclass(slots=True)
class Budget:
    """Bytes and messages a connection holds for its client (queued, plus reliable in flight)."""

    bytes: int = 0
    messages: int = 0

    def add(self, size: int) -> None:
        self.bytes += size
        self.messages += 1

    def release(self, size: int) -> None:
        self.bytes -= size
        self.messages -= 1


@dataclass(slots=True)
class Notice:
    """A map for the client that travels in a stream's order (a ``gap`` notice)."""

    payload: dict[str, Any]
    stamp: int = 0
    arrived: float = 0.0
    size: int = 200


Entry = Item | Notice


@dataclass(slots=True)
class Out:
    """The next thing a stream wants written."""

    entry: Entry
    redelivered: bool = False


class Stream:
    """Common bookkeeping: counters, the budget and ``max_hz`` pacing."""

    mode = ""

    def __init__(self, topic: str, budget: Budget, max_hz: float | None = None) -> None:
        self.topic = topic
        self.budget = budget
        self.period = 1.0 / max_hz if max_hz else 0.0
        self.last_sent = float("-inf")
        self.sent = 0
        self.dropped = 0

    def _paced(self, now: float) -> bool:
        return bool(self.period) and now < self.last_sent + self.period

    def deadline(self, now: float) -> float | None:
        """When a pending message becomes sendable (pacing), if not now."""
        if self.pending() and self._paced(now):
            return self.last_sent + self.period
        return None

    def offer(self, item: Item, now: float) -> bool:
        """Take a live message; True if the stream has something to send."""
        raise NotImplementedError

    def head(self, now: float) -> Out | None:
        """What would be written next, if anything may be written now."""
        raise NotImplementedError

    def pop(self, now: float) -> Out:
        """Take the head (call only after :meth:`head` returned it)."""
        raise NotImplementedError

    def pending(self) -> bool:
        """Whether anything waits (sendable now or later)."""
        raise NotImplementedError

    def queued(self) -> int:
        """Messages waiting to be written."""
        raise NotImplementedError

    def oldest(self) -> float | None:
        """Arrival time of the oldest waiting message."""
        raise NotImplementedError

    def shed(self) -> bool:
        """Drop the oldest droppable message to relieve the budget; False if none."""
        return False

    def clear(self) -> None:
        """Release everything (the subscription ends)."""

    def _sent(self, now: float) -> None:
        self.sent += 1
        self.last_sent = now


class LatestStream(Stream):
    """Only the newest value matters: one slot, conflated."""

    mode = "latest"

    def __init__(self, topic: str, budget: Budget, max_hz: float | None = None) -> None:
        super().__init__(topic, budget, max_hz)
        self.slot: Item | None = None

    def offer(self, item: Item, now: float) -> bool:
        old = self.slot
        if old is not None:
            if item.seq == old.seq and item.epoch == old.epoch:
                return True
            self.dropped += 1
            self.budget.release(old.size)
            item.stamp = min(item.stamp, old.stamp)  # keep its place in the connection's order
        self.slot = item
        self.budget.add(item.size)
        return True

    def head(self, now: float) -> Out | None:
        if self.slot is None or self._paced(now):
            return None
        return Out(self.slot)

    def pop(self, now: float) -> Out:
        item = self.slot
        assert item is not None
        self.slot = None
        self.budget.release(item.size)
        self._sent(now)
        return Out(item)

    def pending(self) -> bool:
        return self.slot is not None

    def queued(self) -> int:
        return 0 if self.slot is None else 1

    def oldest(self) -> float | None:
        return None if self.slot is None else self.slot.arrived

    def shed(self) -> bool:
        if self.slot is None:
            return False
        self.budget.release(self.slot.size)
        self.slot = None
        self.dropped += 1
        return True

    def clear(self) -> None:
        if self.slot is not None:
            self.budget.release(self.slot.size)
            self.slot = None


class QueueStream(Stream):
    """Every message up to ``limit`` waiting; the oldest is dropped when full."""

    mode = "queue"

    def __init__(self, topic: str, budget: Budget, limit: int, max_hz: float | None = None) -> None:
        super().__init__(topic, budget, max_hz)
        self.limit = limit
        self.items: deque[Item] = deque()

    def offer(self, item: Item, now: float) -> bool:
        if len(self.items) >= self.limit:
            self.shed()
        self.items.append(item)
        self.budget.add(item.size)
        return True

    def head(self, now: float) -> Out | None:
        if not self.items or self._paced(now):
            return None
        return Out(self.items[0])

    def pop(self, now: float) -> Out:
        item = self.items.popleft()
        self.budget.release(item.size)
        self._sent(now)
        return Out(item)

    def pending(self) -> bool:
        return bool(self.items)

    def queued(self) -> int:
        return len(self.items)

    def oldest(self) -> float | None:
        return self.items[0].arrived if self.items else None

    def shed(self) -> bool:
        if not self.items:
            return False
        self.budget.release(self.items.popleft().size)
        self.dropped += 1
        return True

    def clear(self) -> None:
        while self.items:
            self.budget.release(self.items.popleft().size)

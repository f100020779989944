"""Reliable delivery of one topic to one subscription: window, acks, redelivery, history (pure).

Every message goes in order. Written messages stay in an in-flight window until the client acks
them (cumulatively: an ack of seq N covers everything up to N); one not acked within the ack
timeout is written again flagged ``redelivered``. What is not in memory comes from history (the
hub's ring, else the publisher's journal) a page at a time, so a resume of any size costs
bounded memory. A live backlog past its bound is an overflow: the session closes the connection
(4008) and the client resumes from its acked position.

A resume (``since``) is all or nothing: if history still reaches back, every missed message is
delivered (``recovered: true``); if not, nothing is replayed, ``recovered: false`` says why, and
delivery continues at the tip. Loss found later on a live stream is never silent either: a
``gap`` notice travels in the stream's order and says what was lost and where delivery goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bridge.item import Item
from bridge.stream import Budget, Entry, Notice, Out, Stream


@dataclass(frozen=True, slots=True)
class ReliableLimits:
    """The in-flight window, the ack timeout, the live backlog bound and the history page."""

    window: int = 1000
    ack_timeout: float = 10.0
    backlog: int = 10000
    page: int = 2000


@dataclass(slots=True)
class Sent:
    """A message written and not yet acked."""

    item: Item
    sent_at: float
    deliveries: int = 1
    due: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """Messages from history after a position, in order; ``complete`` when they reach the tip."""

    items: list[Item]
    complete: bool
    epoch: str
    tip: int


@dataclass(frozen=True, slots=True)
class Lost:
    """History no longer reaches back: it now holds ``epoch`` from ``first`` up to ``tip``."""

    reason: str
    epoch: str
    first: int
    tip: int


@dataclass(frozen=True, slots=True)
class Unavailable:
    """History could not be asked (its publisher is down or unknown)."""

    reason: str


Fetched = Page | Lost | Unavailable
FetchRequest = Callable[["ReliableStream"], None]


@dataclass(slots=True)
class Resolution:
    """How a resume (``since``) of one topic ended, for the ``subscribed`` reply."""

    recovered: bool
    epoch: str
    seq: int
    reason: str = ""


class ReliableStream(Stream):
    """Acked, windowed, in-order delivery of one reliable topic, backed by history.

    ``next`` is the seq the stream expects to queue next (None: take the first live message as
    the baseline). While ``replaying``, live messages are ignored: history delivers them in
    order, a page at a time, until a page reaches the tip. ``resuming`` marks a stream created
    by ``since`` whose first fetch decides ``recovered`` (all or nothing).
    """

    mode = "reliable"

    def __init__(
        self,
        topic: str,
        budget: Budget,
        limits: ReliableLimits,
        request_fetch: FetchRequest,
        *,
        epoch: str | None = None,
        next_seq: int | None = None,
        resuming: bool = False,
    ) -> None:
        super().__init__(topic, budget)
        self.limits = limits
        self.request_fetch = request_fetch
        self.epoch = epoch
        self.next = next_seq
        self.resuming = resuming
        self.replaying = False
        self.fetching = False
        self.queue: deque[Entry] = deque()
        self.inflight: dict[int, Sent] = {}
        self.timeline: deque[tuple[float, int]] = deque()
        self.redo: deque[int] = deque()
        self.acked = self.top_sent = 0 if next_seq is None else next_seq - 1
        self.overflow: str | None = None
        self.redelivered = 0
        self.resolution: Resolution | None = None
        if resuming:
            self._want_history()

    # -- receiving -------------------------------------------------------------------------

    def offer(self, item: Item, now: float) -> bool:
        if self.replaying:
            return False  # history will deliver it, in order
        if self.next is None:
            self.epoch, self.next = item.epoch, item.seq
            self.acked = self.top_sent = item.seq - 1
        elif not self.epoch:
            self.epoch = item.epoch  # started before any history existed: this is the first
        if item.epoch != self.epoch:
            self._new_epoch(item)
        if item.seq < self.next:
            return False
        if item.seq > self.next:
            self._want_history()
            return False
        self._enqueue(item)
        if len(self.queue) > self.limits.backlog and self.overflow is None:
            self.overflow = (
                f"{self.topic}: {len(self.queue)} messages wait behind the in-flight window"
                f" (backlog limit {self.limits.backlog}); ack faster, then resume"
            )
        return True

    def _enqueue(self, entry: Entry) -> None:
        self.queue.append(entry)
        self.budget.add(entry.size)
        if isinstance(entry, Item):
            self.next = entry.seq + 1

    def _new_epoch(self, item: Item) -> None:
        self._gap(
            f"{self.topic}: the publisher's history changed (epoch {self.epoch} ->"
            f" {item.epoch}); what was not delivered from the old history is gone",
            last=None,
            cont=(item.epoch, item.seq - 1),
        )
        self._forget_inflight()
        self.epoch, self.next = item.epoch, item.seq
        self.acked = self.top_sent = item.seq - 1

    def _gap(self, reason: str, last: int | None, cont: tuple[str, int]) -> None:
        payload = {
            "op": "gap",
            "topic": self.topic,
            "epoch": self.epoch,
            "first": self.next,
            "last": last,
            "continue": {"epoch": cont[0], "seq": cont[1]},
            "reason": reason,
        }
        self._enqueue(Notice(payload))

    def _want_history(self) -> None:
        self.replaying = True
        if not self.fetching:
            self.fetching = True
            self.request_fetch(self)

    def fetched(self, result: Fetched) -> bool:
        """Apply a history fetch; True if the stream now has something to send.

        ``Unavailable`` is final here (the caller retries while it makes sense): the stream
        gives up on the range and takes the next live message as its baseline.
        """
        self.fetching = False
        if isinstance(result, Page):
            self._page(result)
        elif isinstance(result, Lost):
            self._lost(result)
        else:
            self._unavailable(result)
        self.resuming = False
        return self.pending()

    def _page(self, page: Page) -> None:
        if not self.epoch:
            self.epoch = page.epoch
        if self.resuming:
            self.resolution = Resolution(True, page.epoch, page.tip)
        for item in page.items:
            if item.seq == self.next and item.epoch == self.epoch:
                self._enqueue(item)
        if page.complete:
            self.replaying = False
        elif len(self.queue) < self.limits.page // 2:
            self._want_history()

    def _lost(self, lost: Lost) -> None:
        same = lost.epoch == self.epoch
        cont = lost.tip if self.resuming or not same else lost.first - 1
        if self.resuming:
            self.resolution = Resolution(False, lost.epoch, lost.tip, lost.reason)
        else:
            self._gap(lost.reason, cont if same else None, (lost.epoch, cont))
            self._forget_inflight()
        self.epoch, self.next = lost.epoch, cont + 1
        self.acked = self.top_sent = cont
        self.replaying = False
        if cont < lost.tip:
            self._want_history()

    def _unavailable(self, result: Unavailable) -> None:
        if self.resuming:
            self.resolution = Resolution(False, self.epoch or "", self.acked, result.reason)
        else:
            self._gap(result.reason, None, (self.epoch or "", self.acked))
        self.replaying, self.next = False, None

    def check_tip(self, epoch: str, seq: int) -> None:
        """The publisher says the topic reached ``seq``: fetch what we have not seen. A stream
        started before the topic had any history (epoch "") takes the first history's tip: its
        first messages may have been published before the bus subscription reached the
        publisher, and a heartbeat may be the only sign of them."""
        same = epoch == self.epoch or not self.epoch
        if self.next is not None and same and seq >= self.next:
            self._want_history()

    # -- acks and redelivery ---------------------------------------------------------------

    def ack(self, seq: int, epoch: str | None) -> str | None:
        """Cumulative ack; returns a refusal message, or None if accepted."""
        if epoch is not None and epoch != self.epoch:
            return f"{self.topic} is at epoch {self.epoch}, not {epoch}"
        if seq > self.top_sent:
            return f"{self.topic} seq {seq} was not delivered yet (last delivered {self.top_sent})"
        if seq <= self.acked:
            return None
        inflight = self.inflight
        while inflight:
            first = next(iter(inflight))
            if first > seq:
                break
            self.budget.release(inflight.pop(first).item.size)
        self.acked = seq
        return None

    def due(self, now: float) -> bool:
        """Move messages past their ack timeout to redelivery; True if any became due."""
        found = False
        limit = now - self.limits.ack_timeout
        timeline = self.timeline
        while timeline and timeline[0][0] <= limit:
            sent_at, seq = timeline.popleft()
            entry = self.inflight.get(seq)
            if entry is not None and entry.sent_at == sent_at and not entry.due:
                entry.due = True
                self.redo.append(seq)
                found = True
        return found

    def _forget_inflight(self) -> None:
        for entry in self.inflight.values():
            self.budget.release(entry.item.size)
        self.inflight.clear()
        self.timeline.clear()
        self.redo.clear()

    # -- sending ---------------------------------------------------------------------------

    def _redo_head(self) -> Sent | None:
        while self.redo:
            entry = self.inflight.get(self.redo[0])
            if entry is not None and entry.due:
                return entry
            self.redo.popleft()
        return None

    def head(self, now: float) -> Out | None:
        again = self._redo_head()
        if again is not None:
            return Out(again.item, True)
        if not self.queue:
            return None
        entry = self.queue[0]
        if isinstance(entry, Item) and len(self.inflight) >= self.limits.window:
            return None
        return Out(entry)

    def pop(self, now: float) -> Out:
        again = self._redo_head()
        if again is not None:
            self.redo.popleft()
            again.due, again.sent_at = False, now
            again.deliveries += 1
            self.timeline.append((now, again.item.seq))
            self.redelivered += 1
            return Out(again.item, True)
        entry = self.queue.popleft()
        if isinstance(entry, Notice):
            self.budget.release(entry.size)
            return Out(entry)
        self.inflight[entry.seq] = Sent(entry, now)
        self.timeline.append((now, entry.seq))
        self.top_sent = entry.seq
        self._sent(now)
        if self.replaying and not self.fetching and len(self.queue) < self.limits.page // 2:
            self._want_history()
        return Out(entry)

    def pending(self) -> bool:
        return bool(self.queue) or self._redo_head() is not None

    def queued(self) -> int:
        return len(self.queue)

    def unacked(self) -> int:
        """Messages written and not acked yet."""
        return len(self.inflight)

    def oldest(self) -> float | None:
        return self.queue[0].arrived if self.queue else None

    def clear(self) -> None:
        while self.queue:
            self.budget.release(self.queue.popleft().size)
        self._forget_inflight()

    def position(self) -> tuple[str, int] | None:
        """``(epoch, last seq queued or sent)``: where this stream stands."""
        if self.epoch is None or self.next is None:
            return None
        return self.epoch, self.next - 1

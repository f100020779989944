"""Per-topic ``(epoch, seq)`` checking for bus subscribers (pure; no sockets).

Every received message goes through :meth:`SequenceTracker.check`, which says what to do with it:
deliver it, drop it as a duplicate, or (for a gap) deliver after the missing range is filled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """What :meth:`SequenceTracker.check` decided."""

    FIRST = "first"  # first message seen on the topic: deliver, it sets the baseline
    NEXT = "next"  # the expected next seq: deliver
    DUPLICATE = "duplicate"  # seq already seen: drop
    GAP = "gap"  # seqs were skipped: fill (reliable) or count, then deliver
    NEW_EPOCH = "new_epoch"  # the publisher's history changed: deliver, restart the count


@dataclass(slots=True)
class TopicCounters:
    """What happened on one topic."""

    epoch: str = ""
    last_seq: int = 0
    received: int = 0
    duplicates: int = 0
    gaps: int = 0
    missed: int = 0
    filled: int = 0
    epochs: int = 0


@dataclass(slots=True)
class SequenceTracker:
    """Sequence state of every topic one subscriber receives."""

    topics: dict[str, TopicCounters] = field(default_factory=dict)

    def check(self, topic: str, epoch: str, seq: int) -> tuple[Verdict, int]:
        """Classify a message; for a GAP the second value is the first missing seq.

        The tracker's position only moves forward for FIRST, NEXT and NEW_EPOCH; after a GAP
        the caller fills the range and calls :meth:`advance` (or :meth:`skip` if it could not).
        """
        state = self.topics.get(topic)
        if state is None:
            self.topics[topic] = TopicCounters(epoch=epoch, last_seq=seq, received=1, epochs=1)
            return Verdict.FIRST, 0
        state.received += 1
        if epoch != state.epoch:
            state.epoch, state.last_seq = epoch, seq
            state.epochs += 1
            return Verdict.NEW_EPOCH, 0
        if seq <= state.last_seq:
            state.duplicates += 1
            state.received -= 1
            return Verdict.DUPLICATE, 0
        if seq == state.last_seq + 1:
            state.last_seq = seq
            return Verdict.NEXT, 0
        state.gaps += 1
        return Verdict.GAP, state.last_seq + 1

    def advance(self, topic: str, seq: int, *, filled: bool = False) -> None:
        """Record that ``seq`` (a filled message or the one after a gap) was delivered."""
        state = self.topics[topic]
        if filled:
            state.filled += 1
        state.last_seq = max(state.last_seq, seq)

    def skip(self, topic: str, upto: int) -> int:
        """Give up on seqs up to ``upto`` (history lost); returns how many were missed."""
        state = self.topics[topic]
        missed = max(0, upto - state.last_seq)
        state.missed += missed
        state.last_seq = max(state.last_seq, upto)
        return missed

    def position(self, topic: str) -> tuple[str, int] | None:
        """``(epoch, last_seq)`` of a topic, or None if nothing was received."""
        state = self.topics.get(topic)
        return None if state is None else (state.epoch, state.last_seq)

    def forget(self, topic: str) -> None:
        """Drop a topic's state (after an unsubscribe)."""
        self.topics.pop(topic, None)

"""Who a track is: colour class and number decided by confidence-weighted votes over frames.

A single frame's classification flickers (stripe/solid from one frame is the weakest link of
every published pool tracker), so each track sums the confidences its detections gave to each
class and number, and a label is taken, or replaced, only when it leads by ``LEAD`` votes.
A decided number implies its class. At rest, :func:`reconcile` enforces the table's invariants:
at most one cue ball, one eight ball and one track per number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from nodes.core.hygiene import kind_of_number
from protocol.messages.vision import BallKind

K = TypeVar("K", str, int)

LEAD = 5.0
UNIQUE_KINDS: tuple[BallKind, ...] = ("cue", "eight")
KINDS: tuple[BallKind, ...] = ("cue", "eight", "solid", "stripe")


def _decide(votes: Mapping[K, float], current: K | None, banned: Iterable[K] = ()) -> K | None:
    """The label whose votes lead the runner-up (or the current label) by ``LEAD``.

    A sequential test: with a per-frame error rate p, a wrong label gets a lead of ``LEAD``
    votes with probability about (p / (1 - p)) ** LEAD, 0.1 % at p = 0.2, and a decision once
    taken is even harder to overturn, so identities do not flicker.
    """
    ban = set(banned)
    ranked = sorted(((v, k) for k, v in votes.items() if k not in ban), reverse=True)
    keep = current if current is not None and current not in ban else None
    if not ranked:
        return keep
    best_votes, best = ranked[0]
    if best == keep:
        return keep
    rival = votes.get(keep, 0.0) if keep is not None else (ranked[1][0] if len(ranked) > 1 else 0.0)
    return best if best_votes - rival >= LEAD else keep


@dataclass(slots=True)
class Identity:
    """Votes and the decided class and number of one track."""

    kind_votes: dict[str, float] = field(default_factory=dict)
    number_votes: dict[int, float] = field(default_factory=dict)
    kind: BallKind = "unknown"
    number: int | None = None
    banned_kinds: set[str] = field(default_factory=set)
    banned_numbers: set[int] = field(default_factory=set)

    def vote(self, kind: BallKind, number: int | None, confidence: float) -> None:
        """Add one detection's opinion and re-decide."""
        if kind != "unknown":
            self.kind_votes[kind] = self.kind_votes.get(kind, 0.0) + confidence
        if number is not None:
            self.number_votes[number] = self.number_votes.get(number, 0.0) + confidence
        self.decide()

    def decide(self) -> None:
        """Re-decide number and class from the votes (number first: it implies the class)."""
        self.number = _decide(self.number_votes, self.number, self.banned_numbers)
        if self.number is not None:
            self.kind = kind_of_number(self.number)
            return
        current = self.kind if self.kind != "unknown" else None
        self.kind = _as_kind(_decide(self.kind_votes, current, self.banned_kinds))

    def strength(self) -> float:
        """Votes behind the current decision (for choosing between claimants)."""
        if self.number is not None:
            return self.number_votes.get(self.number, 0.0) + 100.0
        return self.kind_votes.get(self.kind, 0.0)

    def certainty(self) -> float:
        """Share of the class votes that agree with the decided class, 0 when undecided."""
        total = sum(self.kind_votes.values()) + sum(self.number_votes.values())
        if total <= 0.0 or self.kind == "unknown":
            return 0.0
        agree = self.kind_votes.get(self.kind, 0.0)
        agree += sum(v for n, v in self.number_votes.items() if kind_of_number(n) == self.kind)
        return agree / total

    def absorb(self, other: Identity) -> None:
        """Merge another track's votes into this one (re-identification)."""
        for k, v in other.kind_votes.items():
            self.kind_votes[k] = self.kind_votes.get(k, 0.0) + v
        for n, v in other.number_votes.items():
            self.number_votes[n] = self.number_votes.get(n, 0.0) + v
        self.decide()


def _as_kind(label: str | None) -> BallKind:
    for kind in KINDS:
        if label == kind:
            return kind
    return "unknown"


def reconcile(identities: Iterable[Identity]) -> None:
    """Keep each number and each unique class (cue, eight) on one track: the best-supported.

    The losers are barred from that label (until :meth:`Identity.decide` finds another) so the
    decision does not flip back next frame; bans are lifted on tracks that win their label.
    """
    items = list(identities)
    for ident in items:
        ident.banned_numbers.clear()
        ident.banned_kinds.clear()
        ident.decide()
    for _ in range(3):
        changed = False
        for label_of in (_number_label, _kind_label):
            changed |= _resolve(items, label_of)
        if not changed:
            return


def _number_label(ident: Identity) -> int | str | None:
    return ident.number


def _kind_label(ident: Identity) -> int | str | None:
    return ident.kind if ident.kind in UNIQUE_KINDS else None


def _resolve(items: list[Identity], label_of: Callable[[Identity], int | str | None]) -> bool:
    claims: dict[int | str, list[Identity]] = {}
    for ident in items:
        label = label_of(ident)
        if label is not None:
            claims.setdefault(label, []).append(ident)
    changed = False
    for label, owners in claims.items():
        if len(owners) < 2:
            continue
        owners.sort(key=lambda i: i.strength(), reverse=True)
        for loser in owners[1:]:
            if isinstance(label, int):
                loser.banned_numbers.add(label)
            else:
                loser.banned_kinds.add(label)
            loser.decide()
            changed = True
    return changed

"""Per-topic sequence checks: first, next, duplicate, gap, new epoch."""

from __future__ import annotations

from nodes.runtime.sequence import SequenceTracker, Verdict


def test_in_order_duplicates_and_gaps_are_classified():
    tracker = SequenceTracker()
    assert tracker.check("t", "e1", 5) == (Verdict.FIRST, 0)
    assert tracker.check("t", "e1", 6) == (Verdict.NEXT, 0)
    assert tracker.check("t", "e1", 6) == (Verdict.DUPLICATE, 0)
    assert tracker.check("t", "e1", 3) == (Verdict.DUPLICATE, 0)
    assert tracker.check("t", "e1", 9) == (Verdict.GAP, 7)
    assert tracker.position("t") == ("e1", 6)


def test_fill_then_continue_after_gap():
    tracker = SequenceTracker()
    tracker.check("t", "e", 1)
    assert tracker.check("t", "e", 4)[0] is Verdict.GAP
    tracker.advance("t", 2, filled=True)
    tracker.advance("t", 3, filled=True)
    assert tracker.check("t", "e", 4) == (Verdict.NEXT, 0)
    assert tracker.topics["t"].filled == 2


def test_skip_counts_missed_messages():
    tracker = SequenceTracker()
    tracker.check("t", "e", 1)
    tracker.check("t", "e", 10)
    assert tracker.skip("t", 10) == 9
    assert tracker.topics["t"].missed == 9


def test_new_epoch_restarts_the_count():
    tracker = SequenceTracker()
    tracker.check("t", "e1", 50)
    assert tracker.check("t", "e2", 1) == (Verdict.NEW_EPOCH, 0)
    assert tracker.check("t", "e2", 2) == (Verdict.NEXT, 0)

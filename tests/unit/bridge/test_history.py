"""History for resume: the in-memory ring, the journal behind it, and what a fetch answers."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.history import History, Ring
from bridge.reliable import Lost, Page, Unavailable
from nodes.runtime.control import encode_stored
from protocol import Header, encode_header, messages
from protocol.errors import ControlTimeout
from tests.helpers.session import make_item


def stored(seq: int, epoch: str = "e1") -> dict[str, Any]:
    header = Header(
        type="event.game_reset", src="core", epoch=epoch, seq=seq, t_origin_ns=1, t_pub_ns=2
    )
    body = messages.encode(messages.GameReset(t_ns=seq))
    return encode_stored("core.event", encode_header(header), body)


class Journal:
    """A fake publisher journal answering ``replay`` like NodeRuntime does."""

    def __init__(self, first: int, last: int, epoch: str = "e1") -> None:
        self.first, self.last, self.epoch = first, last, epoch
        self.calls: list[tuple[int, int]] = []
        self.down = False

    async def replay(self, node: str, topic: str, after: int, limit: int) -> dict[str, Any]:
        if self.down:
            raise ControlTimeout("no reply")
        self.calls.append((after, limit))
        start = max(after + 1, self.first)
        seqs = range(start, min(self.last, start + limit - 1) + 1)
        return {
            "topic": topic,
            "epoch": self.epoch,
            "first": self.first,
            "last": self.last,
            "messages": [stored(s, self.epoch) for s in seqs],
        }


def history(journal: Journal, max_messages: int = 100) -> History:
    return History(journal.replay, lambda topic: "core", max_messages=max_messages, max_bytes=2**20)


def test_ring_keeps_the_newest_contiguous_messages():
    ring = Ring(max_messages=3, max_bytes=2**20)
    for seq in range(1, 6):
        ring.append(make_item(seq=seq))
    assert (ring.first, ring.last) == (3, 5)
    ring.append(make_item(seq=5))  # a duplicate changes nothing
    assert ring.last == 5
    ring.append(make_item(seq=9))  # a hole starts it over
    assert (ring.first, ring.last) == (9, 9)
    ring.append(make_item(seq=1, epoch="e2"))  # so does a new epoch
    assert (ring.first, ring.epoch) == (1, "e2")
    assert ring.covers("e2", 0) and ring.covers("", 0) and not ring.covers("e1", 0)


async def test_fetch_within_the_ring_does_not_ask_the_journal():
    journal = Journal(1, 10)
    hist = history(journal)
    for seq in range(1, 11):
        hist.append(make_item(seq=seq))
    page = await hist.fetch("core.event", "e1", 4, 3)
    assert isinstance(page, Page)
    assert [i.seq for i in page.items] == [5, 6, 7] and not page.complete
    page = await hist.fetch("core.event", "e1", 7, 100)
    assert [i.seq for i in page.items] == [8, 9, 10] and page.complete and page.tip == 10
    assert journal.calls == []


async def test_fetch_beyond_the_ring_reads_the_journal_and_tops_up_from_the_ring():
    journal = Journal(1, 8)
    hist = history(journal)
    for seq in range(7, 13):  # live messages 9..12 arrived after the journal answered
        hist.append(make_item(seq=seq))
    page = await hist.fetch("core.event", "e1", 2, 100)
    assert isinstance(page, Page)
    assert [i.seq for i in page.items] == list(range(3, 13))
    assert page.complete and page.tip == 12


async def test_history_that_no_longer_reaches_back_is_lost_not_partial():
    hist = history(Journal(50, 80))
    lost = await hist.fetch("core.event", "e1", 10, 100)
    assert isinstance(lost, Lost)
    assert (lost.first, lost.tip) == (50, 80) and "starts at seq 50" in lost.reason


async def test_another_epoch_is_lost_and_an_empty_epoch_takes_any():
    hist = history(Journal(1, 5, epoch="e2"))
    lost = await hist.fetch("core.event", "e1", 3, 100)
    assert isinstance(lost, Lost) and lost.epoch == "e2"
    page = await hist.fetch("core.event", "", 0, 100)
    assert isinstance(page, Page) and page.epoch == "e2" and len(page.items) == 5


async def test_position_ahead_of_history_is_lost():
    lost = await history(Journal(1, 5)).fetch("core.event", "e1", 9, 100)
    assert isinstance(lost, Lost) and "ahead" in lost.reason


async def test_unreachable_or_unknown_publisher_is_unavailable():
    journal = Journal(1, 5)
    journal.down = True
    assert isinstance(await history(journal).fetch("core.event", "e1", 0, 10), Unavailable)
    nobody = History(journal.replay, lambda topic: None, max_messages=10, max_bytes=2**20)
    result = await nobody.fetch("core.event", "e1", 0, 10)
    assert isinstance(result, Unavailable) and "no publisher" in result.reason


@pytest.mark.parametrize("limit", [1, 7, 2000])
async def test_pages_cover_a_resume_of_any_size(limit):
    journal = Journal(1, 30)
    hist = history(journal)
    after, seen = 0, []
    while True:
        page = await hist.fetch("core.event", "e1", after, limit)
        assert isinstance(page, Page)
        seen += [i.seq for i in page.items]
        after = seen[-1] if seen else after
        if page.complete:
            break
    assert seen == list(range(1, 31))

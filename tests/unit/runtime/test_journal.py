"""The journal keeps order, survives restarts, stays bounded, and recovers from corruption."""

from __future__ import annotations

import pytest

from nodes.runtime.journal import Journal, Limits


def fill(journal, topic, count, start=1, t=0):
    for seq in range(start, start + count):
        journal.append(topic, seq, t + seq, b"h%d" % seq, b"b%d" % seq)


def test_reopened_journal_keeps_epoch_and_continues_sequence(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    fill(journal, "core.event", 5)
    epoch = journal.epoch
    journal.close()
    again = Journal(path)
    assert again.epoch == epoch
    assert again.last_seq("core.event") == 5
    assert [s.seq for s in again.read("core.event", 2, 10)] == [3, 4, 5]
    again.close()


def test_append_refuses_a_sequence_gap(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    fill(journal, "t", 2)
    with pytest.raises(ValueError, match="not the next"):
        journal.append("t", 4, 0, b"", b"")
    journal.close()


def test_count_bound_prunes_oldest_but_sequence_continues(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3", Limits(max_messages=10))
    fill(journal, "t", 25)
    journal.prune(now_ns=100)
    assert journal.bounds("t") == (16, 25)
    assert journal.last_seq("t") == 25
    journal.close()


def test_age_and_byte_bounds_prune(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3", Limits(max_age_s=1e-8, max_bytes=10**9))
    fill(journal, "t", 5, t=0)
    journal.prune(now_ns=1000)
    assert journal.read("t", 0, 10) == []
    assert journal.bounds("t") == (6, 5)
    journal.close()
    small = Journal(tmp_path / "k.sqlite3", Limits(max_bytes=20))
    fill(small, "t", 10)
    small.prune(now_ns=100)
    remaining = small.read("t", 0, 100)
    assert sum(len(s.header) + len(s.body) for s in remaining) <= 20
    assert remaining[-1].seq == 10
    small.close()


def test_corrupt_file_is_moved_aside_and_a_new_epoch_starts(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    fill(journal, "t", 3)
    old_epoch = journal.epoch
    journal.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"j.sqlite3{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    fresh = Journal(path)
    assert fresh.recovered_from is not None
    assert fresh.epoch != old_epoch
    assert fresh.last_seq("t") == 0
    assert list(tmp_path.glob("j.sqlite3.corrupt-*"))
    fresh.close()

"""The persistent journal of a node's reliable topics (SQLite in WAL mode).

Every message of a reliable topic is written here *before* it is sent, so anything a subscriber
has seen can be replayed. The journal is bounded by messages per topic, age and total bytes; its
``epoch`` (the identity of this history) is stored with it, so a restarted node continues each
topic's sequence. If the file is corrupt it is moved aside, a fresh journal with a new epoch is
started, and :attr:`Journal.recovered_from` says what happened, so the node can raise an alert and
clients learn ``recovered: false`` instead of silently missing messages.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    topic TEXT NOT NULL,
    seq INTEGER NOT NULL,
    t_pub_ns INTEGER NOT NULL,
    header BLOB NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (topic, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_age ON messages (t_pub_ns);
"""


def new_epoch() -> str:
    """A fresh history identity: 12 random hex digits."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class Stored:
    """One journalled message."""

    topic: str
    seq: int
    header: bytes
    body: bytes


@dataclass(frozen=True, slots=True)
class Limits:
    """How much history a journal keeps."""

    max_messages: int = 100_000
    max_age_s: float = 7 * 86400.0
    max_bytes: int = 256 * 2**20


class Journal:
    """Append-only per-topic history with bounded retention.

    Writes happen on the owner's thread; :meth:`read` and :meth:`bounds` may be called from any
    thread (each thread gets its own read connection; WAL lets readers run beside the writer).
    """

    def __init__(self, path: str | Path, limits: Limits = Limits()) -> None:
        self.path = Path(path)
        self.limits = limits
        self.recovered_from: str | None = None
        self._local = threading.local()
        self._appends_since_prune = 0
        self._db = self._open_checked()
        self.epoch = self._load_epoch()
        self._last = dict(self._db.execute("SELECT topic, last_seq FROM topics").fetchall())

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _open_checked(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
            (verdict,) = db.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict)
            db.executescript(_SCHEMA)
            return db
        except sqlite3.DatabaseError as exc:
            return self._start_over(str(exc))

    def _start_over(self, reason: str) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.rename(Path(str(aside) + suffix))
        log.error("journal %s is corrupt (%s); moved aside to %s", self.path, reason, aside)
        self.recovered_from = f"{reason}; moved aside to {aside.name}"
        db = self._connect()
        db.executescript(_SCHEMA)
        return db

    def _load_epoch(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        if row is not None:
            return str(row[0])
        epoch = new_epoch()
        self._db.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
        return epoch

    def last_seq(self, topic: str) -> int:
        """Highest seq ever written to ``topic`` (0 if none), even if since pruned."""
        return int(self._last.get(topic, 0))

    def positions(self) -> dict[str, int]:
        """Last seq of every topic in the journal."""
        return dict(self._last)

    def append(self, topic: str, seq: int, t_pub_ns: int, header: bytes, body: bytes) -> None:
        """Store one message; ``seq`` must be the topic's next sequence number."""
        expected = self.last_seq(topic) + 1
        if seq != expected:
            raise ValueError(f"journal {topic}: seq {seq} is not the next ({expected})")
        size = len(header) + len(body)
        db = self._db
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
            (topic, seq, t_pub_ns, header, body, size),
        )
        db.execute("INSERT OR REPLACE INTO topics VALUES (?, ?)", (topic, seq))
        db.execute("COMMIT")
        self._last[topic] = seq
        self._appends_since_prune += 1
        if self._appends_since_prune >= 200:
            self.prune()

    def prune(self, now_ns: int | None = None) -> int:
        """Enforce the limits; returns how many messages were dropped."""
        self._appends_since_prune = 0
        now_ns = time.time_ns() if now_ns is None else now_ns
        db = self._db
        before = db.total_changes
        cutoff = now_ns - int(self.limits.max_age_s * 1e9)
        db.execute("DELETE FROM messages WHERE t_pub_ns < ?", (cutoff,))
        for topic, last in self._last.items():
            db.execute(
                "DELETE FROM messages WHERE topic = ? AND seq <= ?",
                (topic, last - self.limits.max_messages),
            )
        (total,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM messages").fetchone()
        if total > self.limits.max_bytes:
            self._drop_oldest_bytes(total - self.limits.max_bytes)
        return db.total_changes - before

    def _drop_oldest_bytes(self, excess: int) -> None:
        rows = self._db.execute(
            "SELECT topic, seq, size FROM messages ORDER BY t_pub_ns, seq"
        ).fetchall()
        doomed: list[tuple[str, int]] = []
        for topic, seq, size in rows:
            if excess <= 0:
                break
            doomed.append((topic, seq))
            excess -= size
        self._db.executemany("DELETE FROM messages WHERE topic = ? AND seq = ?", doomed)

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._local.db = db
        return db

    def bounds(self, topic: str) -> tuple[int, int]:
        """``(first, last)`` seq still stored for ``topic``; ``(last + 1, last)`` when empty."""
        row = (
            self._reader()
            .execute("SELECT MIN(seq), MAX(seq) FROM messages WHERE topic = ?", (topic,))
            .fetchone()
        )
        last = self.last_seq(topic)
        if row is None or row[0] is None:
            return last + 1, last
        return int(row[0]), int(row[1])

    def read(self, topic: str, after: int, limit: int) -> list[Stored]:
        """Up to ``limit`` messages of ``topic`` with seq > ``after``, in order."""
        rows = (
            self._reader()
            .execute(
                "SELECT seq, header, body FROM messages"
                " WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?",
                (topic, after, limit),
            )
            .fetchall()
        )
        return [Stored(topic, int(seq), bytes(h), bytes(b)) for seq, h, b in rows]

    def last(self, topic: str) -> Stored | None:
        """The newest stored message of ``topic``."""
        found = self.read(topic, self.last_seq(topic) - 1, 1)
        return found[0] if found else None

    def close(self) -> None:
        """Close the writer connection (readers close with their threads)."""
        self._db.close()
        reader = getattr(self._local, "db", None)
        if reader is not None:
            reader.close()
            self._local.db = None

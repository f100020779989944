"""Rate limits the bridge applies to clients (pure: times are plain floats from the caller).

- :class:`Bucket`: a token bucket (``rate`` per second, bursts of ``burst``).
- :class:`PerKey`: one bucket per key (the client's IP address) for new connections: over the
  limit a WebSocket upgrade or an MJPEG request is answered ``429 Too Many Requests`` with a
  ``Retry-After``. Idle buckets are forgotten, so memory stays bounded whatever the clients do.
- :class:`Abuse`: a connection that keeps sending after being told ``rate_limited`` is closed
  (1008, policy violation) once more than ``limit`` of its messages were refused within
  ``window`` seconds.

The per-connection message rate itself is the session's (``limits.inbound_rate``).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Final

MAX_KEYS: Final = 10000


@dataclass(slots=True)
class Bucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full."""

    rate: float
    burst: float
    tokens: float = math.nan
    stamp: float = 0.0

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        if math.isnan(self.tokens):
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next token (after a refused :meth:`take`)."""
        if self.rate <= 0:
            return math.inf
        return max(0.0, (1.0 - self.tokens) / self.rate)

    def full(self, now: float) -> bool:
        """Whether the bucket has refilled completely (it can be forgotten)."""
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


@dataclass(slots=True)
class PerKey:
    """A bucket per key; ``rate`` <= 0 disables the limit."""

    rate: float
    burst: float
    buckets: OrderedDict[str, Bucket] = field(default_factory=OrderedDict)
    refused: int = 0

    def admit(self, key: str, now: float) -> float | None:
        """None if ``key`` may go ahead, else the seconds it should wait."""
        if self.rate <= 0:
            return None
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(self.rate, max(1.0, self.burst))
        self.buckets.move_to_end(key)
        allowed = bucket.take(now)
        self._trim(now)
        if allowed:
            return None
        self.refused += 1
        return bucket.wait()

    def _trim(self, now: float) -> None:
        while self.buckets:
            key, oldest = next(iter(self.buckets.items()))
            if len(self.buckets) <= MAX_KEYS and not oldest.full(now):
                return
            del self.buckets[key]


@dataclass(slots=True)
class Abuse:
    """Counts a connection's refused messages; says when to give up on it."""

    limit: int
    window: float = 10.0
    times: deque[float] = field(default_factory=deque)
    seen: int = 0

    def abused(self, refused_so_far: int, now: float) -> bool:
        """Record refusals up to the session's counter ``refused_so_far``; True: close it."""
        if self.limit <= 0:
            return False
        new = refused_so_far - self.seen
        self.seen = refused_so_far
        for _ in range(min(new, self.limit + 1)):
            self.times.append(now)
        while self.times and self.times[0] < now - self.window:
            self.times.popleft()
        while len(self.times) > self.limit + 1:
            self.times.popleft()
        return len(self.times) > self.limit

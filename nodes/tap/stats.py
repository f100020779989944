"""Windowed rate, bandwidth and delay of one topic (pure: callers pass the clock).

A :class:`Window` keeps the last ``size`` arrivals no older than ``horizon`` seconds. Rates are
measured over the arrivals it holds, so a topic that stops drops to zero once its arrivals age
out, and a burst does not linger for longer than the horizon.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arrival:
    """One received message: when (monotonic s), how big, and its timestamps (ns)."""

    t: float
    size: int
    origin_ns: int = 0
    pub_ns: int = 0
    recv_ns: int = 0


@dataclass(frozen=True, slots=True)
class Spread:
    """Summary of a set of values."""

    mean: float
    min: float
    max: float
    std: float
    p50: float
    p99: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        """The spread of ``values`` (None if empty)."""
        if not values:
            return None
        ordered = sorted(values)
        return cls(
            mean=statistics.fmean(ordered),
            min=ordered[0],
            max=ordered[-1],
            std=statistics.pstdev(ordered) if len(ordered) > 1 else 0.0,
            p50=_quantile(ordered, 0.5),
            p99=_quantile(ordered, 0.99),
            n=len(ordered),
        )


def _quantile(ordered: list[float], q: float) -> float:
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


class Window:
    """The recent arrivals of one topic."""

    def __init__(self, size: int = 100, horizon: float = 10.0) -> None:
        if size < 2:
            raise ValueError("a window needs at least 2 messages")
        self.horizon = horizon
        self.arrivals: deque[Arrival] = deque(maxlen=size)
        self.count = 0
        self.bytes = 0

    def add(self, arrival: Arrival) -> None:
        """Record one arrival."""
        self.arrivals.append(arrival)
        self.count += 1
        self.bytes += arrival.size

    def expire(self, now: float) -> None:
        """Forget arrivals older than the horizon."""
        while self.arrivals and now - self.arrivals[0].t > self.horizon:
            self.arrivals.popleft()

    def _span(self) -> float:
        return self.arrivals[-1].t - self.arrivals[0].t if len(self.arrivals) > 1 else 0.0

    def rate(self, now: float) -> float:
        """Messages per second over the window (0 when fewer than two recent arrivals)."""
        self.expire(now)
        span = self._span()
        return (len(self.arrivals) - 1) / span if span > 0 else 0.0

    def bandwidth(self, now: float) -> float:
        """Bytes per second over the window."""
        self.expire(now)
        span = self._span()
        if span <= 0:
            return 0.0
        return sum(a.size for a in list(self.arrivals)[1:]) / span

    def intervals(self) -> Spread | None:
        """Seconds between consecutive arrivals."""
        times = [a.t for a in self.arrivals]
        return Spread.of([b - a for a, b in itertools.pairwise(times)])

    def sizes(self) -> Spread | None:
        """Message sizes in bytes."""
        return Spread.of([float(a.size) for a in self.arrivals])

    def delays(self) -> Spread | None:
        """Seconds from ``t_origin_ns`` (capture) to reception."""
        return Spread.of([(a.recv_ns - a.origin_ns) / 1e9 for a in self.arrivals if a.origin_ns])

    def transport(self) -> Spread | None:
        """Seconds from ``t_pub_ns`` (publication) to reception."""
        return Spread.of([(a.recv_ns - a.pub_ns) / 1e9 for a in self.arrivals if a.pub_ns])

    def age(self, now: float) -> float | None:
        """Seconds since the last arrival (None if none ever)."""
        return now - self.arrivals[-1].t if self.arrivals else None

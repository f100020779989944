"""The bridge's own health: ``ok`` or ``degraded`` with a reason (pure, plus one small task).

The bridge is degraded while its event loop lags (a timer that should fire every 100 ms fires
late by more than ``LAG_LIMIT``, after a warm-up), while the bus lost messages in the last
minute, or while no other node is known (the run dir or peers are probably wrong). Its level
goes out in its own heartbeat (so every node and ``/api/v1/health`` see it).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

Level = Literal["ok", "degraded"]

LAG_LIMIT: Final = 0.5  # seconds of event-loop lag that make the bridge degraded
WARM_UP: Final = 10.0  # seconds after start whose lags are not held against the bridge
PERIOD: Final = 0.1
MEMORY: Final = 60.0  # seconds a problem is remembered
ALONE: Final = 5.0  # seconds without any other node before that counts as a problem


@dataclass(slots=True)
class Checkup:
    """Observations of the bridge's health over the last minute."""

    lags: deque[tuple[float, float]] = field(default_factory=deque)
    gaps: deque[tuple[float, int]] = field(default_factory=deque)
    last_gaps: int = 0
    nodes: int = 0
    alone_since: float | None = None
    now: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def lag(self, now: float, seconds: float) -> None:
        """The loop woke ``seconds`` late at ``now``."""
        if seconds > LAG_LIMIT and now - self.started > WARM_UP:
            self.lags.append((now, seconds))
        self._forget(now)

    def bus(self, now: float, gaps_so_far: int, nodes: int) -> None:
        """The hub's gap counter and how many other nodes send heartbeats."""
        if gaps_so_far > self.last_gaps:
            self.gaps.append((now, gaps_so_far - self.last_gaps))
        self.last_gaps = gaps_so_far
        self.nodes = nodes
        self.now = now
        if nodes:
            self.alone_since = None
        elif self.alone_since is None:
            self.alone_since = now
        self._forget(now)

    def _forget(self, now: float) -> None:
        for queue in (self.lags, self.gaps):
            while queue and queue[0][0] < now - MEMORY:
                queue.popleft()

    def status(self) -> tuple[Level, str | None]:
        """``("ok", None)`` or ``("degraded", reason)``."""
        reasons = []
        if self.lags:
            worst = max(lag for _, lag in self.lags)
            reasons.append(f"event loop lagged up to {worst * 1e3:.0f} ms in the last minute")
        if self.gaps:
            lost = sum(n for _, n in self.gaps)
            reasons.append(f"{lost} bus gap(s) in the last minute")
        if self.alone_since is not None and self.now - self.alone_since >= ALONE:
            reasons.append("no other node sends heartbeats (check the run dir or peers)")
        return ("degraded", "; ".join(reasons)) if reasons else ("ok", None)


async def watch(checkup: Checkup, every_second: Callable[[float], None]) -> None:
    """Measure loop lag forever; call ``every_second(now)`` about once a second."""
    loop = asyncio.get_running_loop()
    next_second = loop.time() + 1.0
    while True:
        due = loop.time() + PERIOD
        await asyncio.sleep(PERIOD)
        now = loop.time()
        checkup.lag(time.monotonic(), max(0.0, now - due))
        if now >= next_second:
            next_second = now + 1.0
            every_second(time.monotonic())

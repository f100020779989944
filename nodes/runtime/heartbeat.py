"""Heartbeats: liveness, load, rates and reliable-topic tails every ``interval`` seconds."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

import psutil

from nodes.runtime.publisher import Publisher
from protocol import PROTOCOL_VERSION_STRING, topics
from protocol.messages import Heartbeat

Status = tuple[Literal["ok", "degraded"], str | None]


class LoopLag:
    """Measures how late the event loop wakes up (the worst lag since the last read)."""

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.worst_ms = 0.0

    async def run(self) -> None:
        """Sleep ``period`` forever and record the overshoot."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.period)
            lag = (loop.time() - start - self.period) * 1e3
            self.worst_ms = max(self.worst_ms, lag)

    def take(self) -> float:
        """The worst lag in ms since the last call, then reset."""
        worst, self.worst_ms = self.worst_ms, 0.0
        return worst


class HeartbeatTask:
    """Publishes ``system.heartbeat.<node>``."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        kind: str,
        interval: float,
        endpoints: dict[str, str],
        stats: Callable[[], dict[str, Any]] = dict,
        status: Callable[[], Status] = lambda: ("ok", None),
        version: str = "",
    ) -> None:
        self.publisher = publisher
        self.kind = kind
        self.interval = interval
        self.endpoints = endpoints
        self.stats = stats
        self.status = status
        self.version = version or PROTOCOL_VERSION_STRING
        self.started_ns = time.time_ns()
        self.lag = LoopLag()
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        self._last_counts: Counter[str] = Counter()
        self._last_time = time.monotonic()

    def build(self) -> Heartbeat:
        """The heartbeat for now (rates since the previous one)."""
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-6)
        counts = Counter(self.publisher.sent)
        rates = {t: round((n - self._last_counts[t]) / elapsed, 2) for t, n in counts.items()}
        rates = {t: r for t, r in rates.items() if not t.startswith(topics.WELCOME_PREFIX)}
        self._last_counts, self._last_time = counts, now
        status, reason = self.status()
        return Heartbeat(
            node=self.publisher.node,
            kind=self.kind,
            pid=os.getpid(),
            host=socket.gethostname(),
            version=self.version,
            started_ns=self.started_ns,
            uptime_s=round((time.time_ns() - self.started_ns) / 1e9, 3),
            interval_s=self.interval,
            status=status,
            reason=reason,
            cpu_percent=self._process.cpu_percent(None),
            rss_bytes=self._process.memory_info().rss,
            loop_lag_ms=round(self.lag.take(), 3),
            rates=rates,
            stats=self.stats(),
            endpoints=self.endpoints,
            positions=self.publisher.positions(),
        )

    async def run(self) -> None:
        """Publish a heartbeat now and then every interval (absolute deadlines, no drift)."""
        lag = asyncio.ensure_future(self.lag.run())
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        try:
            while True:
                self.publisher.publish(topics.system_heartbeat(self.publisher.node), self.build())
                deadline += self.interval
                await asyncio.sleep(max(0.0, deadline - loop.time()))
        finally:
            lag.cancel()

#!/usr/bin/env python3
"""Memory of one bridge while clients stall (subscribe to everything, then never read again).

The stand-in core publishes core.state at 60 Hz, 2 KB core.events at 200 Hz and 1080p frames
at 30 Hz (only while watched). One healthy client reads core.state throughout. Then
``--stalled`` clients subscribe to the full-resolution video, core.state and core.event (queue
mode, queue 10000) and stop reading (``pause_reading``, a 4 KB receive buffer). The bridge's
resident memory is sampled every half second, with its per-connection ``held_bytes`` from
``/api/v1/connections``, and the healthy client's latency before and during the stall.

    python bench/bridge_memory.py --stalled 5 --seconds 20 --budget 8388608
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(
    0, str(Path(os.environ.get("CUECAST_BENCH_REFERENCE", "/work/shared/bench-reference")))
)
import common  # noqa: E402
from bridge_client import Lean  # noqa: E402
from bridge_fanout import free_port, spawn, stop, wait_http  # noqa: E402


class Healthy:
    """Reads core.state and keeps its latencies (publish to receive)."""

    def __init__(self) -> None:
        self.latencies: list[tuple[float, float]] = []

    def on_message(self, message: Any, raw: bytes, binary: bool) -> None:
        if message and message.get("op") == "message":
            now = time.time_ns()
            self.latencies.append((time.monotonic(), (now - message["t_origin_ns"]) / 1e6))

    def window(self, start: float, end: float) -> dict[str, float]:
        values = sorted(ms for t, ms in self.latencies if start <= t < end)
        if not values:
            return {"n": 0}
        return {"n": len(values), "p50": common.pct(values, 50), "p99": common.pct(values, 99)}


async def stall(port: int) -> Lean:
    client = await Lean.connect(port, lambda *args: None)
    client.send({"op": "subscribe", "topic": "vision.frame.cam0", "rendition": "full"})
    client.send({"op": "subscribe", "topic": "core.state", "mode": "queue", "queue": 10000})
    client.send({"op": "subscribe", "topic": "core.event", "mode": "queue", "queue": 10000})
    await asyncio.sleep(0.5)
    assert client.transport is not None
    sock = client.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.transport.pause_reading()
    return client


def held(port: int) -> list[int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/connections", timeout=2) as r:
        return [c["held_bytes"] for c in json.loads(r.read())["connections"]]


async def run(a: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cuecast-memory-") as tmp:
        run_dir, port = Path(tmp), free_port()
        publisher = spawn(
            [
                sys.executable,
                "-m",
                "tests.helpers.publisher",
                "--run-dir",
                tmp,
                "--event-hz",
                "200",
                "--event-bytes",
                "2000",
                "--frame-cache",
                "30",
                "--log-level",
                "warning",
            ],
            None,
            run_dir / "publisher.log",
        )
        bridge = spawn(
            [
                sys.executable,
                "-m",
                "bridge",
                "--run-dir",
                tmp,
                "--port",
                str(port),
                "--client-max-bytes",
                str(a.budget),
                "--ping-interval",
                "0",
                "--log-level",
                "warning",
            ],
            None,
            run_dir / "bridge.log",
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/api/v1/health", want='"core"')
            return await measure(a, port, psutil.Process(bridge.pid))
        finally:
            stop(bridge)
            stop(publisher)


async def measure(a: argparse.Namespace, port: int, process: psutil.Process) -> dict[str, Any]:
    healthy = Healthy()
    reader = await Lean.connect(port, healthy.on_message)
    reader.send({"op": "subscribe", "topic": "core.state"})
    await asyncio.sleep(3.0)
    before = time.monotonic()
    baseline = statistics.median(await sample(process, 2.0))
    stalled = [await stall(port) for _ in range(a.stalled)]
    start = time.monotonic()
    rss = await sample(process, a.seconds)
    end = time.monotonic()
    holdings = held(port)
    for client in [*stalled, reader]:
        client.close()
    growth = max(rss) - baseline
    return {
        "bench": "bridge_memory",
        "stalled": a.stalled,
        "seconds": a.seconds,
        "budget_bytes": a.budget,
        "rss_baseline_mib": baseline / 2**20,
        "rss_max_mib": max(rss) / 2**20,
        "growth_mib": growth / 2**20,
        "growth_per_stalled_mib": growth / 2**20 / max(1, a.stalled),
        "max_held_bytes": max(holdings) if holdings else 0,
        "healthy_before": healthy.window(before - 3.0, before),
        "healthy_during": healthy.window(start, end),
    }


async def sample(process: psutil.Process, seconds: float) -> list[int]:
    values = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        values.append(process.memory_info().rss)
        await asyncio.sleep(0.5)
    return values


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stalled", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--budget", type=int, default=8 * 2**20, help="--client-max-bytes")
    ap.add_argument("--json")
    a = ap.parse_args()
    common.emit(asyncio.run(run(a)), a.json)


if __name__ == "__main__":
    main()

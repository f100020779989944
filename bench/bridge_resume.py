#!/usr/bin/env python3
"""How long a reliable client takes to resume N missed events through the bridge.

A stand-in core publishes N events (2000 bytes of padding is typical of a busy event); then a
client subscribes to ``core.event`` with ``since`` its last position and the clock runs from the
subscribe to the N-th message received (acking every 500 as a client should):

  ring      the bridge followed the topic while the events were published: they come from its
            in-memory history (client: bench/bridge_client.py, a lean frame parser)
  journal   the bridge was killed (SIGKILL) and started again: everything comes from the
            publisher's SQLite journal, a page at a time
  client    as ``journal``, with the Python client (bridge/client.py) instead of raw frames

    python bench/bridge_resume.py --events 10000 --reps 3 --json bench/results/bridge_resume.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import tornado.websocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(
    0, str(Path(os.environ.get("CUECAST_BENCH_REFERENCE", "/work/shared/bench-reference")))
)
import common  # noqa: E402
from bridge_client import Lean  # noqa: E402
from bridge_fanout import free_port, spawn, stop, wait_http  # noqa: E402

from bridge.client import BridgeClient  # noqa: E402
from nodes.runtime import Bus, ControlClient, RunDir  # noqa: E402


class Raw:
    """Minimal JSON client: send ops, read messages."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, port: int) -> Raw:
        conn = await tornado.websocket.websocket_connect(
            f"ws://127.0.0.1:{port}/ws", subprotocols=["cuecast.v1.json"]
        )
        return cls(conn)

    async def send(self, **op: Any) -> None:
        await self.conn.write_message(json.dumps(op))

    async def next(self, op: str) -> dict[str, Any]:
        while True:
            data = await asyncio.wait_for(self.conn.read_message(), 30)
            if data is None:
                raise ConnectionError("closed")
            message = msgspec.json.decode(data)
            if message.get("op") == op:
                return message

    def close(self) -> None:
        self.conn.close()


async def publish(run_dir: Path, events: int, pad: int) -> dict[str, Any]:
    """Ask the stand-in core directly (a long request: every event is journalled first)."""
    record = RunDir(run_dir).read_record("core")
    assert record is not None
    bus = Bus()
    client = ControlClient(bus, record.control, timeout=300.0, retries=1)
    try:
        result = await client.request("publish_events", {"n": events, "pad": pad})
    finally:
        client.close()
        bus.close()
    return dict(result.value)


async def resume_raw(port: int, since: dict[str, Any], count: int) -> float:
    """Resume with the lean client: subscribe with since, read and ack until ``count``."""
    done = asyncio.get_running_loop().create_future()
    state = {"got": 0, "recovered": None}

    def on_message(message: Any, raw: bytes, binary: bool) -> None:
        if message is None:
            return
        if message.get("op") == "subscribed":
            state["recovered"] = message["recovered"]
        elif message.get("op") == "message":
            state["got"] += 1
            if state["got"] % 500 == 0 or state["got"] == count:
                client.send({"op": "ack", "topic": "core.event", "seq": message["seq"]})
            if state["got"] == count and not done.done():
                done.set_result(None)

    client = await Lean.connect(port, on_message)
    started = time.perf_counter()
    client.send({"op": "subscribe", "topic": "core.event", "since": {"core.event": since}})
    await asyncio.wait_for(done, 60)
    elapsed = time.perf_counter() - started
    assert state["recovered"] is True, state
    client.close()
    return elapsed


async def resume_client(port: int, since: dict[str, Any], count: int) -> float:
    client = BridgeClient(f"ws://127.0.0.1:{port}/ws", positions={"core.event": since})
    await client.connect()
    started = time.perf_counter()
    events = await client.subscribe("core.event")
    for _ in range(count):
        await events.get(timeout=30)
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def start_bridge(run_dir: Path, port: int) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "bridge",
        "--run-dir",
        str(run_dir),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    bridge = spawn(args, None, run_dir / "bridge.log")
    wait_http(f"http://127.0.0.1:{port}/api/v1/health", want='"core"')
    return bridge


async def run_once(a: argparse.Namespace, kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cuecast-resume-") as tmp:
        run_dir, port = Path(tmp), free_port()
        publisher = spawn(
            [
                sys.executable,
                "-m",
                "tests.helpers.publisher",
                "--run-dir",
                tmp,
                "--state-hz",
                "0",
                "--log-level",
                "warning",
            ],
            None,
            run_dir / "publisher.log",
        )
        bridge = start_bridge(run_dir, port)
        try:
            follower = await Raw.connect(port)  # keeps the bridge subscribed (its ring filled)
            await follower.send(op="subscribe", topic="core.event", mode="latest", id=1)
            await follower.next("subscribed")
            burst = await publish(run_dir, a.events, a.pad)
            since = {"epoch": burst["epoch"], "seq": burst["first"] - 1}
            if kind != "ring":
                bridge.send_signal(signal.SIGKILL)
                bridge.wait(10)
                bridge = start_bridge(run_dir, port)
            resume = resume_client if kind == "client" else resume_raw
            elapsed = await resume(port, since, a.events)
            follower.close()
        finally:
            stop(bridge)
            stop(publisher)
    return {
        "bench": "bridge_resume",
        "kind": kind,
        "events": a.events,
        "pad": a.pad,
        "seconds": elapsed,
        "events_per_s": a.events / elapsed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--pad", type=int, default=200, help="padding bytes per event")
    ap.add_argument("--kinds", default="ring,journal,client")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    for rep in range(a.reps):
        for kind in a.kinds.split(","):
            row = asyncio.run(run_once(a, kind))
            row["rep"] = rep
            common.emit(row, a.json)
            rows.append(row)
    print()
    print(
        common.md_table(
            common.median_rows(rows, ["kind", "events"]),
            ["kind", "events", "reps", "seconds", "events_per_s"],
        )
    )


if __name__ == "__main__":
    main()

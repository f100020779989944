#!/usr/bin/env python3
"""A cheaper WebSocket load client with the output of ws_latency_client.py.

Same idea as the reference client (N connections, subscribe, count and time messages in a
window, optional acks), but on :mod:`bridge_client` (frames parsed in bulk, msgspec decoding),
so one core drives 200 connections at 60 Hz without becoming the bottleneck.

    python bench/bridge_load.py --port 8080 --conns 200 --subscribe '{"op":"subscribe",...}' \\
        --match op=message --ts-field t_origin_ns --ts-unit ns
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bridge_client import Lean

SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def worker(cfg: dict[str, Any], n: int) -> dict[str, Any]:
    t_start = cfg["start_at"] + cfg["warmup"]
    t_end = t_start + cfg["duration"]
    scale = SCALE[cfg["ts_unit"]]
    match = [(k, v) for k, v in cfg["match"]]
    lat, counts = array("d"), [0] * n
    stats = {"connected": 0, "unmatched": 0, "acks": 0, "bytes": 0}
    clients: list[Lean] = []

    def handler(i: int) -> Any:
        seen = [0]

        def on_message(message: Any, raw: bytes, binary: bool) -> None:
            now = time.time()
            if message is None or any(str(message.get(k)) != v for k, v in match):
                stats["unmatched"] += 1
                return
            if t_start <= now < t_end:
                lat.append(now - message[cfg["ts_field"]] * scale)
                counts[i] += 1
                stats["bytes"] += len(raw)
            seen[0] += 1
            if cfg["ack"] and seen[0] % cfg["ack_every"] == 0:
                clients[i].send(json.loads(cfg["ack"].replace("$seq", str(message["seq"]))))
                stats["acks"] += 1

        return on_message

    for i in range(n):
        client = await Lean.connect(cfg["port"], handler(i), path=cfg["path"])
        clients.append(client)
        for subscribe in cfg["subscribe"]:
            client.send(json.loads(subscribe))
        stats["connected"] += 1
    await asyncio.sleep(max(0.0, t_start - time.time()))
    c0 = cpu()
    await asyncio.sleep(max(0.0, t_end - time.time()))
    used = cpu() - c0
    for client in clients:
        client.close()
    return {"lat": lat.tobytes(), "counts": counts, "cpu_s": used, **stats}


def run_worker(cfg: dict[str, Any], n: int, queue: Any) -> None:
    try:
        queue.put(asyncio.run(worker(cfg, n)))
    except Exception as exc:  # report, do not leave the parent waiting
        empty = {"lat": b"", "counts": [0] * n, "cpu_s": 0.0, "connected": 0, "unmatched": 0}
        queue.put({**empty, "acks": 0, "bytes": 0, "error": repr(exc)[:200]})


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/ws")
    ap.add_argument("--subscribe", action="append", default=[])
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--procs", type=int, default=0, help="processes (default: 1 per 100 conns)")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--start-at", type=float)
    ap.add_argument("--ts-field", default="ts")
    ap.add_argument("--ts-unit", choices=list(SCALE), default="s")
    ap.add_argument("--match", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--ack", help="ack template, $seq substituted")
    ap.add_argument("--ack-every", type=int, default=1)
    a = ap.parse_args()
    cfg = dict(vars(a))
    cfg["match"] = [tuple(m.split("=", 1)) for m in a.match]
    cfg["start_at"] = a.start_at or time.time() + 1.0 + 0.02 * a.conns
    procs = max(1, a.procs or math.ceil(a.conns / 100))
    share = [a.conns // procs + (1 if i < a.conns % procs else 0) for i in range(procs)]
    queue: Any = mp.get_context("fork").Queue()
    workers = [
        mp.get_context("fork").Process(target=run_worker, args=(cfg, n, queue)) for n in share
    ]
    for process in workers:
        process.start()
    results = [queue.get(timeout=a.warmup + a.duration + 120) for _ in workers]
    for process in workers:
        process.join(5)
    lat = array("d")
    for result in results:
        part = array("d")
        part.frombytes(result["lat"])
        lat.extend(part)
    values = sorted(lat)

    def pct(p: float) -> float:
        return (
            values[min(len(values) - 1, round((len(values) - 1) * p / 100))] * 1e3
            if values
            else math.nan
        )

    counts = [c for r in results for c in r["counts"]]
    print(
        json.dumps(
            {
                "bench": "bridge_load",
                "conns": a.conns,
                "procs": procs,
                "connected": sum(r["connected"] for r in results),
                "msgs_per_s": sum(counts) / a.duration,
                "lat_p50_ms": pct(50),
                "lat_p99_ms": pct(99),
                "lat_max_ms": values[-1] * 1e3 if values else math.nan,
                "client_cpu_pct": 100.0 * sum(r["cpu_s"] for r in results) / a.duration,
                "acks_sent": sum(r["acks"] for r in results),
                "unmatched": sum(r["unmatched"] for r in results),
                "per_conn_min_per_s": min(counts) / a.duration if counts else 0.0,
                "errors": [r["error"] for r in results if "error" in r],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

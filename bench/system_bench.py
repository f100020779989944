"""Whole-system figures of issue [1/6]: ``cuecast up`` with one viewer.

Starts ``cuecast up`` on the synthetic camera in a fresh run dir, connects one viewer-like
WebSocket client (``core.state`` + ``core.event`` + the ``720p`` video rendition, as the web
viewer does), and over a measurement window reports:

- capture-to-WebSocket latency of ``core.state`` (client receive time minus ``t_origin_ns``, the
  capture time of the camera frame the state derives from; same machine clock), p50/p90/p99;
- the state rate and the video frame rate the client received;
- CPU of every process (% of one core, psutil over the window) and their RSS;
- time from launch to the bridge answering and to the first state with balls.

    python bench/system_bench.py --seconds 30 --json bench/results/system.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.system import Process, cuecast, free_port, http_json, wait_until  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Viewer:
    """A WebSocket client that subscribes like the web viewer and records what arrives."""

    def __init__(self, url: str, rendition: str) -> None:
        self.url = url
        self.rendition = rendition
        self.latency_ms: list[float] = []
        self.states = 0
        self.frames = 0
        self.first_balls_at: float | None = None
        self.measuring = False

    async def run(self, until: float) -> None:
        ws = await websocket_connect(self.url, subprotocols=["cuecast.v1.json"])
        for topic in ("core.state", "core.event", f"vision.frame.cam0.{self.rendition}"):
            await ws.write_message(json.dumps({"op": "subscribe", "topic": topic}))
        while time.monotonic() < until:
            try:
                left = max(0.1, until - time.monotonic())
                frame = await asyncio.wait_for(ws.read_message(), timeout=left)
            except TimeoutError:
                break
            if frame is None:
                raise RuntimeError("bridge closed the connection")
            self._record(frame, time.time_ns())
        ws.close()

    def _record(self, frame: str | bytes, now_ns: int) -> None:
        if isinstance(frame, bytes):
            self.frames += self.measuring
            return
        message = json.loads(frame)
        if message.get("op") != "message" or message.get("topic") != "core.state":
            return
        if self.first_balls_at is None and message["data"].get("balls"):
            self.first_balls_at = time.monotonic()
        if self.measuring:
            self.states += 1
            self.latency_ms.append((now_ns - message["t_origin_ns"]) / 1e6)


def process_tree(root: psutil.Process) -> dict[str, psutil.Process]:
    """The processes of ``cuecast up`` by role (the synthetic camera renders in its own)."""
    roles = {
        "nodes.vision": "vision",
        "nodes.vision.isolated": "camera",
        "nodes.core": "core",
        "bridge": "bridge",
    }
    named = {"up": root}
    for child in root.children(recursive=True):
        cmd = child.cmdline()
        module = cmd[cmd.index("-m") + 1] if "-m" in cmd[:-1] else ""
        if module in roles:
            named[roles[module]] = child
    return named


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    port = free_port()
    launched = time.monotonic()
    up = Process(
        cuecast(
            "up", "--port", str(port), "--run-dir", str(workdir / "run"), "--log-level", "warning"
        ),
        workdir / "up.log",
    )
    try:
        wait_until(
            lambda: http_json(f"http://127.0.0.1:{port}/api/v1/health"), 120, "the bridge", up
        )
        ready_s = time.monotonic() - launched
        viewer = Viewer(f"ws://127.0.0.1:{port}/ws", args.rendition)
        warm_until = time.monotonic() + args.warmup
        client = asyncio.ensure_future(viewer.run(warm_until + args.seconds))
        while time.monotonic() < warm_until:
            await asyncio.sleep(0.1)
        procs = process_tree(psutil.Process(up.proc.pid))
        for p in procs.values():
            p.cpu_percent(None)
        viewer.measuring = True
        start = time.monotonic()
        await client
        window = time.monotonic() - start
        cpu = {name: round(p.cpu_percent(None), 1) for name, p in procs.items()}
        rss = {name: round(p.memory_info().rss / 2**20, 1) for name, p in procs.items()}
    finally:
        up.stop()
    lat = viewer.latency_ms
    return {
        "seconds": round(window, 1),
        "launch_to_bridge_s": round(ready_s, 2),
        "launch_to_first_balls_s": round(viewer.first_balls_at - launched, 2)
        if viewer.first_balls_at
        else None,
        "state_hz": round(viewer.states / window, 1),
        "frame_fps": round(viewer.frames / window, 1),
        "latency_ms": {
            "p50": round(statistics.median(lat), 2) if lat else None,
            "p90": round(percentile(lat, 90), 2),
            "p99": round(percentile(lat, 99), 2),
            "max": round(max(lat), 2) if lat else None,
            "n": len(lat),
        },
        "cpu_percent_of_one_core": cpu,
        "rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--rendition", default="720p", help="video rendition the viewer watches")
    parser.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cuecast-bench-"))
    try:
        result = asyncio.run(measure(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg_1m"] = round(psutil.getloadavg()[0], 2)
    line = json.dumps(result)
    print(line)
    if args.json:
        with args.json.open("a") as out:
            out.write(line + "\n")
    print(
        f"\ncore.state capture->WebSocket latency: p50 {result['latency_ms']['p50']} ms, "
        f"p99 {result['latency_ms']['p99']} ms over {result['latency_ms']['n']} states; "
        f"state {result['state_hz']} Hz, video {result['frame_fps']} fps"
    )
    print("CPU % of one core:", result["cpu_percent_of_one_core"])


if __name__ == "__main__":
    main()

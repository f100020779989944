"""Browser-like video clients for ``bench/video_bench.py``: WebSocket and MJPEG viewers in one
process, each recording the latency of every frame over its publish time.

    python bench/video_load.py --ws-url ws://127.0.0.1:8080/ws --ws 20 \
        --mjpeg-url 'http://127.0.0.1:8080/video.mjpeg?rendition=720p&fps=30' --mjpeg 20 \
        --start-at <unix time> --warmup 3 --seconds 10

- ``--kind bridge``: the cuecast protocol (subprotocol ``cuecast.v1.json``, one ``subscribe`` to
  ``vision.frame.<camera>`` with a rendition); latency = receive time minus the binary frame
  header's publish time (``t_pub_ns``, stamped by the publishing node).
- ``--kind reference``: ``bench-reference/ws_server_tornado.py --kind frame --auto-subscribe``;
  latency = receive time minus the message's ``ts`` (when its tick was built).
- MJPEG: HTTP/1.0 (no chunking), parts read by ``Content-Length``; latency = time the whole
  part arrived minus its ``X-Published`` header.

WebSocket clients offer permessage-deflate as browsers do. Prints one JSON line: counts and
latency quantiles per kind, measured after the warm-up only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from urllib.parse import urlsplit

import msgpack
import websockets

FRAME = struct.Struct("<BBHIQqqIHH")


class Recorder:
    """Latencies (ms) of frames received inside the measurement window."""

    def __init__(self, window: tuple[float, float]) -> None:
        self.window = window
        self.latency: list[float] = []
        self.frames = 0
        self.bytes = 0
        self.connected = 0
        self.errors: list[str] = []

    def add(self, t_pub_ns: int, size: int) -> None:
        now = time.time()
        if self.window[0] <= now < self.window[1]:
            self.latency.append((now * 1e9 - t_pub_ns) / 1e6)
            self.frames += 1
            self.bytes += size


async def ws_viewer(url: str, kind: str, topic: str, rendition: str, rec: Recorder) -> None:
    protocols = ["cuecast.v1.json"] if kind == "bridge" else None
    async with websockets.connect(url, subprotocols=protocols, max_size=2**24) as ws:
        rec.connected += 1
        if kind == "bridge":
            await ws.send(json.dumps({"op": "subscribe", "topic": topic, "rendition": rendition}))
        while time.time() < rec.window[1]:
            data = await ws.recv()
            if isinstance(data, str):
                continue
            if kind == "bridge":
                if data[:1] == b"\x01":
                    rec.add(FRAME.unpack_from(data)[6], len(data))
            else:
                rec.add(int(msgpack.unpackb(data)["ts"] * 1e9), len(data))


async def mjpeg_viewer(url: str, rec: Recorder) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    writer.write(f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    rec.connected += 1
    try:
        while time.time() < rec.window[1]:
            block = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line
            )
            jpeg = await reader.readexactly(int(headers["Content-Length"]) + 2)
            rec.add(int(float(headers["X-Published"]) * 1e9), len(jpeg))
    finally:
        writer.close()


def quantiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {"n": len(ordered), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1.0)}


async def run(args: argparse.Namespace) -> dict[str, object]:
    start = (args.start_at or time.time()) + args.warmup
    window = (start, start + args.seconds)
    ws_rec, mjpeg_rec = Recorder(window), Recorder(window)
    topic = f"vision.frame.{args.camera}"
    tasks = [
        ws_viewer(args.ws_url, args.kind, topic, args.rendition, ws_rec) for _ in range(args.ws)
    ]
    tasks += [mjpeg_viewer(args.mjpeg_url, mjpeg_rec) for _ in range(args.mjpeg)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    out: dict[str, object] = {"seconds": args.seconds, "errors": errors[:5]}
    if args.raw:
        raw = {"ws": ws_rec.latency, "mjpeg": mjpeg_rec.latency}
        raw |= {"ws_bytes": ws_rec.bytes, "mjpeg_bytes": mjpeg_rec.bytes}  # type: ignore[dict-item]
        with open(args.raw, "w") as file:
            json.dump(raw, file)
    for name, rec, count in (("ws", ws_rec, args.ws), ("mjpeg", mjpeg_rec, args.mjpeg)):
        if not count:
            continue
        expected = args.fps * args.seconds * count
        out[name] = {
            "clients": count,
            "connected": rec.connected,
            "frames": rec.frames,
            "delivered_pct": round(100 * rec.frames / expected, 1),
            "mbit_s": round(rec.bytes * 8 / args.seconds / 1e6, 1),
            "latency_ms": quantiles(rec.latency),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=["bridge", "reference"], default="bridge")
    parser.add_argument("--ws-url", default="", help="WebSocket URL")
    parser.add_argument("--ws", type=int, default=20, help="WebSocket viewers")
    parser.add_argument("--mjpeg-url", default="", help="MJPEG URL")
    parser.add_argument("--mjpeg", type=int, default=0, help="MJPEG viewers")
    parser.add_argument("--camera", default="cam0", help="camera (bridge)")
    parser.add_argument("--rendition", default="720p", help="rendition (bridge)")
    parser.add_argument(
        "--fps", type=float, default=30.0, help="source frame rate (for delivered %)"
    )
    parser.add_argument("--start-at", type=float, default=0.0, help="Unix time the clients start")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--raw", help="also write every latency (ms) to this JSON file")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()

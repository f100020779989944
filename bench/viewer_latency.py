"""Capture-to-screen latency of the web viewer, measured through the page in headless Chromium.

The viewer stamps every frame it draws: its capture time (from the binary frame header) to the
moment it is drawn on the canvas, on the browser's wall clock (same machine as the camera
clock), and splits it into capture -> publish (the vision node: render, detect, encode),
publish -> received (bus hop, bridge, WebSocket), received -> decoded (JPEG decode off the main
thread) and decoded -> drawn (the next animation frame). This script opens the viewer with
Debian's Chromium through Playwright, waits a warm-up, collects every sample of the window from
``window.cuecast`` and prints quantiles.

Sources:
- ``up``: ``cuecast up`` with the synthetic camera: the whole system, as a user runs it.
- ``feed``: ``tests.helpers.tap_publisher`` publishing 1280x720 JPEGs of ~70 kB at 30 fps
  stamped when published, plus states and a calibration, and one bridge: what the bridge and
  the browser add, without the vision node's own processing time.

    python bench/viewer_latency.py --source up --seconds 20 --json bench/results/viewer.json
    python bench/viewer_latency.py --source feed --seconds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.system import Process, cuecast, free_port, http_json, wait_until  # noqa: E402

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAGES = ("capture_to_publish", "publish_to_receive", "receive_to_decode", "decode_to_draw")


def start(source: str, work: Path, port: int) -> list[Process]:
    run_dir = str(work / "run")
    if source == "up":
        argv = cuecast("up", "--port", str(port), "--run-dir", run_dir, "--log-level", "warning")
        procs = [Process(argv, work / "up.log")]
    else:
        feed = [sys.executable, "-m", "tests.helpers.tap_publisher", "--run-dir", run_dir]
        feed += ["--name", "vision", "--frames-hz", "30", "--state-hz", "30", "--events-hz", "2"]
        bridge = [sys.executable, "-m", "bridge", "--run-dir", run_dir, "--port", str(port)]
        bridge += ["--log-level", "warning"]
        procs = [Process(feed, work / "feed.log"), Process(bridge, work / "bridge.log")]
    health = f"http://127.0.0.1:{port}/api/v1/health"
    wait_until(lambda: len(http_json(health)["nodes"]) >= 2, 120, "the system", procs[-1])
    return procs


def collect(port: int, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/?rendition={args.rendition}")
        page.wait_for_function(
            "() => window.cuecast && cuecast.surface.stats.drawn > 5", timeout=120_000
        )
        time.sleep(args.warmup)
        first = page.evaluate("() => cuecast.surface.stats.drawn")
        started = time.monotonic()
        samples: dict[int, dict[str, float]] = {}
        while time.monotonic() - started < args.seconds:
            time.sleep(2.0)  # the page keeps the last 600 samples: read well before they roll
            for sample in page.evaluate("() => cuecast.surface.samples"):
                samples[sample["seq"]] = sample
        window = time.monotonic() - started
        drawn = page.evaluate("() => cuecast.surface.stats.drawn") - first
        hud = page.evaluate(
            "() => ({fps: document.getElementById('hud-fps').textContent,"
            " p95: document.getElementById('hud-p95').textContent})"
        )
        browser.close()
    values = [s for s in samples.values() if s["seq"]]
    return {"samples": values, "fps": round(drawn / window, 1), "hud": hud}


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": q(1.0)}


def summarize(source: str, found: dict[str, Any]) -> dict[str, Any]:
    samples = found["samples"]
    out: dict[str, Any] = {
        "source": source,
        "frames": len(samples),
        "fps": found["fps"],
        "hud": found["hud"],
        "capture_to_screen_ms": quantiles([s["total"] for s in samples]),
        "publish_to_screen_ms": quantiles([s["total"] - s["capture_to_publish"] for s in samples]),
    }
    out["stages_median_ms"] = {
        stage: round(statistics.median(s[stage] for s in samples), 2) for stage in STAGES
    }
    out["stages_p95_ms"] = {
        stage: quantiles([s[stage] for s in samples])["p95"] for stage in STAGES
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", choices=["up", "feed"], default="up")
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--rendition", default="720p", help="the viewer's video rendition")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--json", help="append the result line here")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cuecast-viewer-") as tmp:
        procs = start(args.source, Path(tmp), port)
        try:
            result = summarize(args.source, collect(port, args))
        finally:
            for proc in reversed(procs):
                proc.stop()
    print(json.dumps(result))
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

"""Tap figures: sustained record rate, one minute of recording, CPU while echoing core.state.

    python bench/tap_bench.py [--record-seconds 60] [--echo-seconds 20] [--source up|feed]

With ``--source up`` (the default) the bus is a real ``cuecast up`` on the synthetic camera
(vision sends frames because the recorder subscribes to them); with ``--source feed`` it is
``tests.helpers.tap_publisher`` (core.state 60 Hz, vision.detections 30 Hz, 1280x720 JPEG frames
of ~70 kB at 30 fps while subscribed, core.event 2 Hz, heartbeats). Either runs in a fresh run
dir; the bench then runs the real CLI as subprocesses: ``record`` for the whole system, and ``echo
core.state --json`` to /dev/null, sampling each process's CPU with psutil. Prints a table and
writes bench/results/tap.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from mcap.reader import make_reader

ROOT = Path(__file__).resolve().parents[1]


def start_feed(run_dir: Path) -> subprocess.Popen[bytes]:
    feed = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.tap_publisher",
            "--run-dir",
            str(run_dir),
            "--name",
            "feed",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    while not (run_dir / "nodes" / "feed.json").exists():
        time.sleep(0.05)
    time.sleep(1.0)  # JPEG synthesis at start
    return feed


def start_up(run_dir: Path) -> subprocess.Popen[bytes]:
    """``cuecast up`` on a free port; returns once core publishes states with balls."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    up = subprocess.Popen(
        [sys.executable, "-m", "nodes.cli", "up", "--run-dir", str(run_dir), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        echo = tap(run_dir, "echo", "core.state", "--json", "--count", "1", stdout=subprocess.PIPE)
        out, _ = echo.communicate(timeout=60)
        if b'"balls":[{' in out.replace(b" ", b""):
            return up
        time.sleep(1.0)
    up.kill()
    raise SystemExit("cuecast up did not publish balls within 120 s")


def tap(run_dir: Path, *args: str, stdout: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "nodes.tap", *args, "--run-dir", str(run_dir)],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def cpu_percent(process: subprocess.Popen[bytes], seconds: float) -> float:
    """Mean CPU % of a process (user + system, one core = 100) over ``seconds``."""
    handle = psutil.Process(process.pid)
    time.sleep(1.5)  # skip start-up (imports, handshake)
    before, t0 = handle.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, t1 = handle.cpu_times(), time.monotonic()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (t1 - t0)


def bench_record(run_dir: Path, seconds: float) -> dict[str, float | int | str]:
    path = run_dir / "minute.mcap"
    recorder = tap(run_dir, "record", str(path), "--duration", str(seconds))
    cpu = cpu_percent(recorder, seconds - 3)
    _, err = recorder.communicate(timeout=seconds + 60)
    assert recorder.returncode == 0, err.decode()
    with path.open("rb") as stream:
        stats = make_reader(stream).get_summary().statistics
    span = (stats.message_end_time - stats.message_start_time) / 1e9
    received = int(re.search(rb"recorded (\d+) messages", err).group(1))
    dropped = int(re.search(rb"dropped (\d+)", err).group(1))
    size = path.stat().st_size
    return {
        "seconds": round(span, 1),
        "bus_messages": received,
        "bus_messages_per_s": round(received / span, 1),
        "mcap_messages": stats.message_count,
        "mcap_messages_per_s": round(stats.message_count / span, 1),
        "file_mb": round(size / 1e6, 1),
        "file_mb_per_s": round(size / 1e6 / span, 2),
        "mb_per_minute": round(size / 1e6 / span * 60, 1),
        "dropped": dropped,
        "record_cpu_percent": round(cpu, 1),
    }


def bench_echo(run_dir: Path, seconds: float) -> dict[str, float]:
    with open(os.devnull, "wb") as sink:
        echo = tap(run_dir, "echo", "core.state", "--json", stdout=sink)
        cpu = cpu_percent(echo, seconds)
        echo.send_signal(signal.SIGINT)
        echo.communicate(timeout=20)
    with open(os.devnull, "wb") as sink:
        pretty = tap(run_dir, "echo", "core.state", stdout=sink)
        cpu_pretty = cpu_percent(pretty, seconds)
        pretty.send_signal(signal.SIGINT)
        pretty.communicate(timeout=20)
    return {"echo_json_cpu_percent": round(cpu, 1), "echo_pretty_cpu_percent": round(cpu_pretty, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record-seconds", type=float, default=60.0)
    parser.add_argument("--echo-seconds", type=float, default=20.0)
    parser.add_argument("--source", choices=("up", "feed"), default="up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tapbench-") as tmp:
        run_dir = Path(tmp)
        feed = start_up(run_dir) if args.source == "up" else start_feed(run_dir)
        try:
            results = {
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python"
                f" {platform.python_version()}",
                "source": args.source,
                **bench_echo(run_dir, args.echo_seconds),
                **bench_record(run_dir, args.record_seconds),
            }
        finally:
            feed.send_signal(signal.SIGTERM)
            feed.wait(20)
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    out = ROOT / "bench" / "results" / f"tap-{args.source}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""WebSocket fan-out of the bridge against the reference Tornado server, in the same run.

For every (connections, scenario, rep) it starts fresh processes, runs the reference load
client (/work/shared/bench-reference/ws_latency_client.py) against them and records delivered
messages, latency from the publisher's timestamp to the client's receive (same machine clock)
and the CPU of the server process alone over the measurement window (psutil).

Scenarios
  ref             reference server (bench-reference/ws_server_tornado.py): 2 KB msgpack state
                  at 60 Hz, encoded once, written without awaiting
  state           bridge, core.state at 60 Hz, JSON (cuecast.v1.json), latest mode
  state-msgpack   the same with cuecast.v1.msgpack
  event-latest    bridge, a 2 KB core.event at 60 Hz, latest mode (no acks)
  event-reliable  the same in reliable mode, the client acking cumulatively every --ack-every

Servers (and the bridge's publisher) run on CPU 0, clients on CPU 1 (--no-pin to disable).
--client lean uses bench/bridge_load.py instead of the reference client: same measurements,
several times less client CPU per message, so 200 connections do not saturate the client.

    python bench/bridge_fanout.py --conns 100,200 --reps 3 --json bench/results/bridge_fanout.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("CUECAST_BENCH_REFERENCE", "/work/shared/bench-reference"))
sys.path.insert(0, str(REFERENCE))
import common  # noqa: E402  (the reference helpers: guarded runs, medians, tables)

SCENARIOS = ("ref", "state", "state-msgpack", "event-latest", "event-reliable")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child(cpu: int | None) -> None:
    """In the child: pin it, and let it die with the bench (PR_SET_PDEATHSIG)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)


def spawn(args: list[str], cpu: int | None, log: Path) -> subprocess.Popen[bytes]:
    pin = functools.partial(_child, cpu)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    out = open(log, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=out, preexec_fn=pin)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_http(url: str, timeout: float = 30.0, want: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if want in response.read().decode():
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open")


def servers(scenario: str, port: int, run_dir: Path, pin: bool) -> list[subprocess.Popen[bytes]]:
    """Start the processes of a scenario; the first one is the measured server."""
    cpu = 0 if pin else None
    py = sys.executable
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if scenario == "ref":
        server = REFERENCE / "ws_server_tornado.py"
        args = [py, str(server), "--port", str(port), "--rate", "60", "--kind", "state"]
        proc = spawn(args, cpu, logs / "ref.log")
        wait_port(port)
        return [proc]
    rates = (
        ["--state-hz", "60"]
        if scenario.startswith("state")
        else ["--state-hz", "0", "--event-hz", "60", "--event-bytes", "1900"]
    )
    common_args = ["--run-dir", str(run_dir), "--log-level", "warning"]
    publisher = spawn(
        [py, "-m", "tests.helpers.publisher", *common_args, *rates], cpu, logs / "publisher.log"
    )
    bridge = spawn(
        [py, "-m", "bridge", *common_args, "--port", str(port), "--status-interval", "0"],
        cpu,
        logs / "bridge.log",
    )
    wait_http(f"http://127.0.0.1:{port}/api/v1/health", want='"core"')
    return [bridge, publisher]


def client_args(scenario: str, port: int, ack_every: int, lean: bool) -> list[str]:
    """Arguments of the load client (the reference one, or bench/bridge_load.py)."""
    if scenario == "ref":
        target = ["--port", str(port)] if lean else ["--url", f"ws://127.0.0.1:{port}/ws"]
        decoder = [] if lean else ["--decoder", "bridge_decode:decode"]
        return [*target, "--subscribe", '{"type":"subscribe"}', *decoder]
    query = "?format=msgpack" if scenario == "state-msgpack" else ""
    topic = "core.state" if scenario.startswith("state") else "core.event"
    mode = "reliable" if scenario == "event-reliable" else "latest"
    subscribe = json.dumps({"op": "subscribe", "topic": topic, "mode": mode})
    if lean:
        target = ["--port", str(port), "--path", f"/ws{query}"]
    else:
        target = ["--url", f"ws://127.0.0.1:{port}/ws{query}", "--decoder", "bridge_decode:decode"]
    args = [
        *target,
        "--subscribe",
        subscribe,
        "--match",
        "op=message",
        "--ts-field",
        "t_origin_ns",
        "--ts-unit",
        "ns",
    ]
    if scenario == "event-reliable":
        ack = '{"op":"ack","topic":"core.event","seq":$seq}'
        args += ["--ack", ack, "--ack-every", str(ack_every)]
    return args


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    times = psutil.Process(proc.pid).cpu_times()
    return float(times.user + times.system)


def run_once(a: argparse.Namespace, scenario: str, conns: int) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cuecast-bench-") as tmp:
        procs = servers(scenario, port, Path(tmp), a.pin)
        try:
            return measure(a, scenario, conns, port, procs)
        finally:
            for proc in procs:
                stop(proc)


def measure(
    a: argparse.Namespace, scenario: str, conns: int, port: int, procs: list[Any]
) -> dict[str, Any]:
    start_at = time.time() + 1.0 + 0.03 * conns
    t0, t1 = start_at + a.warmup, start_at + a.warmup + a.duration
    lean = a.client == "lean"
    program = ROOT / "bench" / "bridge_load.py" if lean else REFERENCE / "ws_latency_client.py"
    client = [
        sys.executable,
        str(program),
        "--conns",
        str(conns),
        "--duration",
        str(a.duration),
        "--warmup",
        str(a.warmup),
        "--start-at",
        repr(start_at),
        *client_args(scenario, port, a.ack_every, lean),
    ]
    pin = (lambda: os.sched_setaffinity(0, {1})) if a.pin else None
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    cli = subprocess.Popen(
        client, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin, env=env
    )
    time.sleep(max(0.0, t0 - time.time()))
    c0 = [cpu_seconds(p) for p in procs]
    time.sleep(max(0.0, t1 - time.time()))
    c1 = [cpu_seconds(p) for p in procs]
    out, err = cli.communicate(timeout=a.duration + 120)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"client produced no result: {err[-800:]}")
    res = json.loads(lines[-1])
    target = conns * 60.0
    row = {
        "bench": "bridge_fanout",
        "scenario": scenario,
        "client": a.client,
        "conns": conns,
        "target_per_s": target,
        "delivered_per_s": res["msgs_per_s"],
        "delivered_pct": 100.0 * res["msgs_per_s"] / target,
        "lat_p50_ms": res["lat_p50_ms"],
        "lat_p99_ms": res["lat_p99_ms"],
        "lat_max_ms": res["lat_max_ms"],
        "server_cpu_pct": 100.0 * (c1[0] - c0[0]) / a.duration,
        "publisher_cpu_pct": 100.0 * (c1[1] - c0[1]) / a.duration if len(procs) > 1 else 0.0,
        "client_cpu_pct": res["client_cpu_pct"],
        "connected": res["connected"],
        "acks_sent": res["acks_sent"],
        "unmatched": res["unmatched"],
    }
    if res.get("errors"):
        row["client_errors"] = res["errors"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--conns", default="100,200")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--ack-every", type=int, default=15, help="reliable: acks per N messages")
    ap.add_argument(
        "--client",
        choices=["reference", "lean"],
        default="reference",
        help="reference: ws_latency_client.py; lean: bench/bridge_load.py",
    )
    ap.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument(
        "--max-foreign",
        type=float,
        default=0.25,
        help="cores of outside load tolerated before a run is repeated",
    )
    ap.add_argument(
        "--wait-quiet",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait (up to 2 min) for the machine to be quiet before each run",
    )
    ap.add_argument("--json", help="append one JSON line per run here")
    a = ap.parse_args()
    rows = []
    for conns in (int(c) for c in a.conns.split(",")):
        for rep in range(a.reps):
            for scenario in a.scenarios.split(","):
                row = common.guarded(
                    run_once,
                    a,
                    scenario,
                    conns,
                    max_foreign=a.max_foreign,
                    retries=3,
                    quiet=a.wait_quiet,
                )
                row["rep"] = rep
                common.emit(row, a.json)
                rows.append(row)
    table = common.median_rows(rows, ["scenario", "client", "conns"])
    print()
    print(
        common.md_table(
            table,
            [
                "scenario",
                "conns",
                "reps",
                "delivered_pct",
                "lat_p50_ms",
                "lat_p99_ms",
                "lat_max_ms",
                "server_cpu_pct",
                "publisher_cpu_pct",
                "client_cpu_pct",
                "foreign_load",
            ],
        )
    )
    print(f"\n# {shlex.join(sys.argv)}")


if __name__ == "__main__":
    main()

"""Video fan-out of one bridge process: browser-like WebSocket viewers plus MJPEG viewers.

Each scenario starts fresh processes, waits for the viewers to connect, and measures over a
window: frames delivered (% of the 30 fps source), latency of each frame over its publish time
(p50/p90/p99/max), and the server's CPU (% of one core, psutil, over the window).

Scenarios (same run, interleaved, ``--repeat`` times; medians reported):

- ``bridge ws+mjpeg``: ``tests.helpers.tap_publisher`` publishes 1280x720 JPEGs of ~70 kB at
  30 fps on ``vision.frame.cam0.720p`` (only while watched, as the vision node does); one
  ``python -m bridge``; ``--ws`` WebSocket viewers of that rendition and ``--mjpeg`` viewers of
  ``/video.mjpeg?rendition=720p&fps=30``.
- ``bridge ws``: the same with WebSocket viewers only.
- ``reference ws``: ``bench-reference/ws_server_tornado.py --kind frame --auto-subscribe`` fed
  the same JPEG bytes (its stock frame is a 150 kB 1080p one), ``--ws`` viewers: a plain
  Tornado fan-out with no bus hop, no protocol, no per-client state.

Viewers are spread over ``--client-procs`` client processes. With ``--pin`` the server runs on
CPU 0 and publisher and clients on CPU 1, as the reference benchmarks did. The machine is
shared: compare ratios within one run; ``machine_busy_cores`` says how busy it was.

    python bench/video_bench.py --ws 20 --mjpeg 20 --seconds 10 --repeat 3 \
        --json bench/results/video.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.helpers.system import free_port, http_json, wait_until  # noqa: E402

REFERENCE = Path("/work/shared/bench-reference")
PY = sys.executable


def spawn(argv: list[str], cpu: int | None, log: Path, env: dict[str, str] | None = None) -> Any:
    def pin() -> None:
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {cpu})

    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=pin,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    proc.log = out  # type: ignore[attr-defined]
    return proc


def stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    proc.log.close()


def reference_server(port: int, frame_file: Path, reference: Path) -> None:
    """Run the reference fan-out server with our JPEG (called in a child process)."""
    sys.path.insert(0, str(reference))
    import common  # type: ignore[import-not-found]
    import ws_server_tornado  # type: ignore[import-not-found]

    data = frame_file.read_bytes()
    common.jpeg_frame = lambda *a, **k: data
    sys.argv = ["ws_server_tornado", "--port", str(port), "--rate", "30", "--kind", "frame"]
    sys.argv.append("--auto-subscribe")
    ws_server_tornado.main()


def start_servers(scenario: str, args: argparse.Namespace, work: Path) -> tuple[list[Any], int]:
    port = free_port()
    cpu_server, cpu_other = (0, 1) if args.pin else (None, None)
    if scenario.startswith("reference"):
        argv = [PY, __file__, "--serve-reference", str(port), "--frame-file", str(args.frame_file)]
        argv += ["--reference", str(args.reference)]
        server = spawn(argv, cpu_server, work / "reference.log")
        wait_until(lambda: _listening(port), 30, "the reference server")
        return [server], port
    run_dir = work / "run"
    publisher = [PY, "-m", "tests.helpers.tap_publisher", "--run-dir", str(run_dir), "--name"]
    publisher += ["vision", "--state-hz", "0", "--detections-hz", "0", "--events-hz", "0"]
    publisher += ["--frames-hz", "30", "--frame-kb", str(args.frame_kb), "--rendition", "720p"]
    feed = spawn(publisher, cpu_other, work / "publisher.log")
    bridge = [PY, "-m", "bridge", "--run-dir", str(run_dir), "--port", str(port)]
    bridge += ["--log-level", "warning"]
    server = spawn(bridge, cpu_server, work / "bridge.log")
    health = f"http://127.0.0.1:{port}/api/v1/health"
    wait_until(lambda: "vision" in http_json(health)["nodes"], 60, "the bridge and publisher")
    return [server, feed], port


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def run_scenario(scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cuecast-video-") as tmp:
        work = Path(tmp)
        procs, port = start_servers(scenario, args, work)
        try:
            return measure(scenario, args, procs[0], port, work)
        finally:
            for proc in reversed(procs):
                stop(proc)


def measure(
    scenario: str, args: argparse.Namespace, server: Any, port: int, work: Path
) -> dict[str, Any]:
    kind = "reference" if scenario.startswith("reference") else "bridge"
    mjpeg = args.mjpeg if scenario == "bridge ws+mjpeg" else 0
    start_at = time.time() + 1.5
    loads = [
        spawn(client_argv(args, kind, port, ws, mj, start_at, work / f"raw{i}.json"),
              1 if args.pin else None, work / f"client{i}.log")
        for i, (ws, mj) in enumerate(split(args.ws, mjpeg, args.client_procs))
    ]  # fmt: skip
    watched = [psutil.Process(p.pid) for p in (server, *loads)]
    time.sleep(max(0.0, start_at + args.warmup - time.time()))
    before, t0, machine0 = [p.cpu_times() for p in watched], time.monotonic(), psutil.cpu_times()
    buckets0 = delivery_buckets(port) if kind == "bridge" else {}
    time.sleep(args.seconds)
    after, t1, machine1 = [p.cpu_times() for p in watched], time.monotonic(), psutil.cpu_times()
    buckets1 = delivery_buckets(port) if kind == "bridge" else {}
    for load in loads:
        load.wait(args.seconds + 60)
        load.log.close()
    cpu = [
        100 * (a.user - b.user + a.system - b.system) / (t1 - t0)
        for a, b in zip(after, before, strict=False)
    ]
    busy = sum(machine1) - sum(machine0) - (machine1.idle - machine0.idle)
    out: dict[str, Any] = {
        "scenario": scenario,
        "server_cpu_pct": round(cpu[0], 1),
        "clients_cpu_pct": round(sum(cpu[1:]), 1),
        "machine_busy_cores": round(busy / (t1 - t0), 2),
        **merge(work, len(loads), args, mjpeg),
    }
    if buckets1:
        out["bridge_side_ms"] = bridge_side(buckets0, buckets1)
    return out


def split(ws: int, mjpeg: int, procs: int) -> list[tuple[int, int]]:
    """Viewers per client process."""
    procs = max(1, procs)
    return [
        (ws // procs + (i < ws % procs), mjpeg // procs + (i < mjpeg % procs)) for i in range(procs)
    ]


def client_argv(
    args: argparse.Namespace, kind: str, port: int, ws: int, mjpeg: int, start: float, raw: Path
) -> list[str]:
    argv = [PY, str(ROOT / "bench" / "video_load.py"), "--kind", kind, "--ws", str(ws)]
    argv += ["--ws-url", f"ws://127.0.0.1:{port}/ws", "--mjpeg", str(mjpeg)]
    argv += ["--mjpeg-url", f"http://127.0.0.1:{port}/video.mjpeg?rendition=720p&fps=30"]
    argv += ["--start-at", str(start), "--warmup", str(args.warmup)]
    return [*argv, "--seconds", str(args.seconds), "--raw", str(raw)]


def merge(work: Path, procs: int, args: argparse.Namespace, mjpeg: int) -> dict[str, Any]:
    """Pool the latencies of every client process."""
    from video_load import quantiles  # type: ignore[import-not-found]

    pooled: dict[str, list[float]] = {"ws": [], "mjpeg": []}
    errors = []
    for i in range(procs):
        try:
            raw = json.loads((work / f"raw{i}.json").read_text())
        except (OSError, ValueError):
            errors.append((work / f"client{i}.log").read_text()[-400:])
            continue
        for kind in pooled:
            pooled[kind] += raw[kind]
    out: dict[str, Any] = {"errors": errors}
    for kind, count in (("ws", args.ws), ("mjpeg", mjpeg)):
        if count:
            expected = 30 * args.seconds * count
            out[kind] = {
                "clients": count,
                "delivered_pct": round(100 * len(pooled[kind]) / expected, 1),
                "latency_ms": quantiles(pooled[kind]),
            }
    return out


def delivery_buckets(port: int) -> dict[str, list[tuple[float, float]]]:
    """The bridge's delivery-latency histogram (cumulative buckets per kind) from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "cuecast_bridge_delivery_latency_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                found.setdefault(sample.labels["kind"], []).append((le, sample.value))
    return found


def bridge_side(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Upper bounds of p50/p99 of publish-to-written latency in the window, per kind (ms)."""
    out = {}
    for kind, buckets in after.items():
        old = dict(before.get(kind, []))
        delta = [(le, n - old.get(le, 0.0)) for le, n in sorted(buckets)]
        total = delta[-1][1] if delta else 0
        if not total:
            continue
        out[kind] = {
            f"p{round(q * 100)}_le": next(le for le, n in delta if n >= q * total) * 1e3
            for q in (0.5, 0.99)
        }
    return out


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per scenario."""
    out = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == scenario]
        summary: dict[str, Any] = {"scenario": scenario, "runs": len(mine)}
        summary["server_cpu_pct"] = statistics.median(r["server_cpu_pct"] for r in mine)
        for kind in ("ws", "mjpeg"):
            found = [r[kind] for r in mine if kind in r]
            if not found:
                continue
            summary[kind] = {
                "delivered_pct": statistics.median(f["delivered_pct"] for f in found),
                **{
                    q: statistics.median(f["latency_ms"][q] for f in found)
                    for q in ("p50", "p90", "p99", "max")
                    if all(f["latency_ms"][q] is not None for f in found)
                },
            }
        out.append(summary)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ws", type=int, default=20, help="WebSocket viewers")
    parser.add_argument("--mjpeg", type=int, default=20, help="MJPEG viewers")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each scenario")
    parser.add_argument("--frame-kb", type=int, default=70, help="JPEG size of the publisher")
    parser.add_argument(
        "--scenarios", default="reference ws,bridge ws,bridge ws+mjpeg", help="comma-separated"
    )
    parser.add_argument("--client-procs", type=int, default=4, help="client processes")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--reference", type=Path, default=REFERENCE, help="bench-reference dir")
    parser.add_argument("--json", help="append one JSON line per run and the summary here")
    parser.add_argument("--serve-reference", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frame-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_reference:
        reference_server(args.serve_reference, args.frame_file, args.reference)
        return
    from tests.helpers.tap_publisher import jpeg_frames

    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as frame:
        frame.write(jpeg_frames(args.frame_kb, 1)[0])
    args.frame_file = Path(frame.name)
    rows = []
    for rep in range(args.repeat):
        for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            row = {"rep": rep, **run_scenario(scenario, args)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    summary = summarize(rows)
    print(json.dumps({"summary": summary}, indent=1))
    if args.json:
        with open(args.json, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
            out.write(json.dumps({"summary": summary, "args": vars(args)}, default=str))
            out.write("\n")
    os.unlink(args.frame_file)


if __name__ == "__main__":
    main()

"""The whole system as a new user runs it: ``cuecast up`` on the synthetic camera."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import zmq
from tornado.websocket import websocket_connect

from nodes.runtime import RunDir
from nodes.runtime.rundir import NodeRecord
from protocol import Header, encode_header
from tests.helpers.system import cuecast, http_json, system, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with system(tmp_path_factory.mktemp("up")) as value:
        yield value


async def test_websocket_client_receives_core_state_with_balls(running):
    _, port, _ = running
    ws = await websocket_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["cuecast.v1.json"])
    await ws.write_message(json.dumps({"op": "subscribe", "topic": "core.state", "id": 1}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        frame = await ws.read_message()
        assert frame is not None, "bridge closed the connection"
        message = json.loads(frame)
        if message.get("op") == "message" and message["data"]["balls"]:
            assert message["topic"] == "core.state"
            assert message["type"] == "core.state"
            ball = message["data"]["balls"][0]
            assert {"id", "x", "y", "kind"} <= set(ball)
            assert -1.3 < ball["x"] < 1.3 and -0.7 < ball["y"] < 0.7  # table metres
            assert message["t_origin_ns"] > 0
            break
    else:
        pytest.fail("no core.state with balls within 30 s")
    ws.close()


def test_mjpeg_stream_yields_jpeg_parts(running):
    _, port, _ = running
    url = f"http://127.0.0.1:{port}/video.mjpeg?rendition=preview&fps=10"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        data = b""
        while data.count(b"\xff\xd8") < 2 and len(data) < 5_000_000:
            data += response.read1(65536)
    start = data.index(b"\xff\xd8")
    assert data.index(b"\xff\xd9", start) > start  # a whole JPEG: SOI ... EOI


def test_tap_echo_prints_messages(running):
    _, _, run_dir = running
    out = subprocess.run(
        cuecast(
            "tap",
            "echo",
            "core.state",
            "-n",
            "2",
            "--json",
            "--run-dir",
            str(run_dir),
            "--timeout",
            "20",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 2


def test_malformed_bus_message_is_counted_and_dropped_without_killing_nodes(running, tmp_path):
    _, port, run_dir = running
    ctx = zmq.Context.instance()
    rogue = ctx.socket(zmq.PUB)
    endpoint = f"ipc://{tmp_path}/rogue.pub"
    rogue.bind(endpoint)
    run = RunDir(run_dir)
    run.write_record(
        NodeRecord(
            name="rogue",
            kind="test",
            pid=os.getpid(),
            host=socket.gethostname(),
            pub=endpoint,
            control=f"ipc://{tmp_path}/rogue.ctl",
            started_ns=0,
            version="0",
        )
    )

    def core_status():
        return json.loads(
            subprocess.run(
                cuecast("tap", "call", "core", "status", "--run-dir", str(run_dir)),
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
        )

    before = core_status()["stats"]["bus"].get("malformed", 0)
    good_header = Header(
        type="vision.detections", src="rogue", epoch="x", seq=1, t_origin_ns=1, t_pub_ns=1
    )
    garbage = [
        [b"vision.detections.cam9", b"\xc1\xc1", b"\x80"],
        [b"vision.detections.cam9"],
        [b"vision.detections.cam9", encode_header(good_header), b"not msgpack at all"],
    ]

    def sent_and_counted():
        for frames in garbage:
            rogue.send_multipart(frames)
        status = core_status()
        return (
            status["stats"]["bus"].get("malformed", 0) > before
            and status["stats"]["bad_messages"] > 0
        )

    wait_until(sent_and_counted, 20, "the core to count the malformed messages")
    run.remove_record("rogue", os.getpid())
    rogue.close(0)
    health = http_json(f"http://127.0.0.1:{port}/api/v1/health")
    assert health["nodes"]["core"]["status"] in ("ok", "up")
    assert core_status()["status"] == "ok"


def test_sigterm_stops_everything_within_seconds(tmp_path):
    with system(tmp_path) as (proc, _, run_dir):
        records = wait_until(
            lambda: (
                (r := RunDir(run_dir).records()) and {"vision", "core", "bridge"} <= set(r) and r
            ),
            30,
            "every node to register",
            proc,
        )
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        proc.proc.wait(15)
        assert time.monotonic() - started < 10
        assert proc.proc.returncode == 0, proc.output()
        assert not RunDir(run_dir).records(), "node records left behind"
        for record in records.values():
            with pytest.raises(ProcessLookupError):
                os.kill(record.pid, 0)


def test_ctrl_c_in_a_terminal_stops_every_node_cleanly(tmp_path):
    # a terminal's Ctrl-C signals its whole foreground process group: the nodes must hear
    # one stop, from the supervisor, not that and then a second signal (which makes a node
    # exit at once, skipping its clean stop)
    with system(tmp_path, group=True) as (proc, _, run_dir):
        wait_until(
            lambda: {"vision", "core", "bridge"} <= set(RunDir(run_dir).records()),
            30,
            "every node to register",
            proc,
        )
        os.killpg(proc.proc.pid, signal.SIGINT)
        proc.proc.wait(15)
        output = proc.output()
        assert proc.proc.returncode == 0, output
        assert "exiting now" not in output
        for name in ("vision", "core", "bridge"):
            assert f"{name} {name} stopped" in output, output


def test_two_systems_with_different_run_dirs_and_ports_run_side_by_side(tmp_path):
    with (
        system(tmp_path / "a") as (proc_a, port_a, run_a),
        system(tmp_path / "b") as (proc_b, port_b, run_b),
    ):
        for proc, port, run in ((proc_a, port_a, run_a), (proc_b, port_b, run_b)):
            wait_until(
                lambda port=port: (
                    {"vision", "core", "bridge"}
                    <= set(http_json(f"http://127.0.0.1:{port}/api/v1/health")["nodes"])
                ),
                60,
                "every node in health",
                proc,
            )
            records = RunDir(run).records()
            assert all(str(run) in r.pub or "cuecast-" in r.pub for r in records.values())
        pids_a = {r.pid for r in RunDir(run_a).records().values()}
        pids_b = {r.pid for r in RunDir(run_b).records().values()}
        assert not pids_a & pids_b
        health_a = http_json(f"http://127.0.0.1:{port_a}/api/v1/health")["nodes"]
        assert {n["pid"] for n in health_a.values()} <= pids_a  # a's bridge sees only a

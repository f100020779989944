"""list, info, echo, hz/bw/delay, call, describe and monitor against a running system."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np

from tests.integration.tap.conftest import ok, spawn, start_feed, stop, tap


def by_topic(listing):
    return {row["topic"]: row for row in listing["topics"]}


def test_list_shows_every_topic_of_a_running_system_with_sane_rates(system):
    listing = json.loads(ok(tap("list", "--json", "--duration", "3", run_dir=system.run_dir)))
    rows = by_topic(listing)
    for topic in (
        "core.state",
        "core.event",
        "vision.detections.cam0",
        "vision.calibration.cam0",
        "system.heartbeat.feed",
        "system.config.feed",
    ):
        assert topic in rows, sorted(rows)
    assert 20 < rows["core.state"]["rate_hz"] < 200
    assert 10 < rows["vision.detections.cam0"]["rate_hz"] < 100
    assert rows["core.state"]["types"] == ["core.state"]
    assert rows["core.state"]["publishers"].keys() == {"feed"}
    assert rows["core.event"]["class"] == "reliable"
    assert listing["nodes"][0]["node"] == "feed" and listing["nodes"][0]["status"] == "up"
    assert not any(t.startswith("system.welcome.") for t in rows)


def test_list_does_not_make_the_vision_node_encode_frames(system):
    rows = by_topic(
        json.loads(ok(tap("list", "--json", "--duration", "1.5", run_dir=system.run_dir)))
    )
    assert not any(t.startswith("vision.frame.") for t in rows)
    table = ok(tap("list", "core.", "--duration", "1", run_dir=system.run_dir))
    assert "core.state" in table and "vision.detections" not in table.split("\n\n")[0]


def test_gaps_are_reported_when_a_publisher_skips_seqs(system):
    report = json.loads(
        ok(tap("info", "core.state", "--json", "--duration", "2", run_dir=system.run_dir))
    )
    assert report["gaps"] >= 1 and report["lost"] >= 1 and report["duplicates"] == 0
    assert report["family"] == "core.state" and report["watched_by"]["feed"] == ["core.state"]
    assert report["delay_s"]["mean"] > 0
    clean = json.loads(
        ok(
            tap(
                "info",
                "vision.detections.cam0",
                "--json",
                "--duration",
                "1",
                run_dir=system.run_dir,
            )
        )
    )
    assert clean["gaps"] == 0 and clean["received"] > 0


def test_echo_prefix_selects_only_that_family(system):
    lines = ok(tap("echo", "core", "-n", "6", "--json", run_dir=system.run_dir)).splitlines()
    assert len(lines) == 6
    assert {json.loads(line)["topic"] for line in lines} <= {"core.state", "core.event"}


def test_echo_glob_where_and_fields(system):
    out = ok(
        tap("echo", "vision.*.cam0", "-n", "3", "--json", "--no-snapshot", run_dir=system.run_dir)
    )
    assert {json.loads(line)["topic"] for line in out.splitlines()} == {"vision.detections.cam0"}
    out = ok(
        tap(
            "echo",
            "core.state",
            "--where",
            "balls.*.number eq 8",
            "--where",
            "frame gt 0",
            "--fields",
            "frame,balls.*.number",
            "-n",
            "2",
            "--json",
            run_dir=system.run_dir,
        )
    )
    for line in out.splitlines():
        data = json.loads(line)["data"]
        assert set(data) == {"frame", "balls.*.number"} and 8 in data["balls.*.number"]


def test_echo_where_that_never_holds_times_out_with_status_4(system):
    result = tap(
        "echo",
        "core.state",
        "--where",
        "balls.*.number eq 99",
        "--timeout",
        "1.5",
        run_dir=system.run_dir,
    )
    assert result.returncode == 4 and "timed out" in result.stderr and result.stdout == ""


def test_echo_pretty_headers_and_hex(system):
    out = ok(tap("echo", "core.state", "--once", "--headers", run_dir=system.run_dir))
    assert out.startswith("--- core.state #") and '"src": "feed"' in out and "balls:" in out
    out = ok(tap("echo", "core.state", "--once", "--hex", run_dir=system.run_dir))
    assert "[header]" in out and "[body]" in out and "63 6f 72 65 2e 73 74 61 74 65" in out


def test_echo_saves_jpeg_frames_to_look_at(system, tmp_path):
    out = ok(
        tap(
            "echo",
            "vision.frame.cam0.720p",
            "-n",
            "2",
            "--json",
            "--save-blobs",
            str(tmp_path),
            run_dir=system.run_dir,
        )
    )
    files = [json.loads(line)["blobs"][0]["file"] for line in out.splitlines()]
    image = cv2.imdecode(np.fromfile(files[0], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (720, 1280, 3)


def test_user_errors_are_messages_with_status_not_tracebacks(system, tmp_path):
    cases = [
        (tap("echo", "cor.state", run_dir=system.run_dir), 2, "unknown topic"),
        (tap("echo", "core.state", "--where", "frame like 3", run_dir=system.run_dir), 2, "bad"),
        (tap("echo", "core.state", run_dir=tmp_path / "nowhere"), 3, "does not exist"),
        (tap("list", run_dir=tmp_path), 3, "no nodes are running"),
        (tap("call", "nobody", "ping", run_dir=system.run_dir), 2, "unknown node 'nobody'"),
        (tap("call", "feed", "ping", "{bad", run_dir=system.run_dir), 2, "not valid JSON"),
        (tap("call", "feed", "no.such", run_dir=system.run_dir), 1, "unknown_request"),
        (tap("info", "core.*", run_dir=system.run_dir), 2, "invalid topic"),
    ]
    for result, status, text in cases:
        assert result.returncode == status, (result.args, result.stderr)
        assert text in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_call_reaches_the_node_and_prints_json(system):
    assert json.loads(ok(tap("call", "feed", "ping", run_dir=system.run_dir)))["pong"] is True
    status = json.loads(ok(tap("call", "feed", "status", "--compact", run_dir=system.run_dir)))
    assert status["node"] == "feed" and status["published"]["core.state"] > 0
    snap = json.loads(
        ok(
            tap(
                "call",
                "feed",
                "snapshot",
                "-",
                run_dir=system.run_dir,
                stdin='{"topic": "core.state"}',
            )
        )
    )
    assert snap["messages"][0]["data"]["balls"][0]["id"] == 1
    described = json.loads(ok(tap("describe", "feed", "--schemas", run_dir=system.run_dir)))
    assert "core.state" in described["schemas"] and "ping" in described["requests"]


def test_hz_bw_and_delay_measure_several_topics(system):
    rows = [
        json.loads(line)
        for line in ok(
            tap(
                "hz",
                "core.state",
                "vision.detections.cam0",
                "--duration",
                "2",
                "--json",
                run_dir=system.run_dir,
            )
        ).splitlines()
    ]
    last = {row["topic"]: row for row in rows}
    assert 20 < last["core.state"]["rate_hz"] < 200 and last["vision.detections.cam0"]["n"] > 5
    bw = json.loads(
        ok(
            tap("bw", "core.state", "--duration", "1", "--json", run_dir=system.run_dir)
        ).splitlines()[-1]
    )
    assert bw["bandwidth_bps"] > 0 and bw["size_bytes"]["mean"] > 500
    delay = json.loads(
        ok(
            tap("delay", "core.state", "--duration", "1", "--json", run_dir=system.run_dir)
        ).splitlines()[-1]
    )
    assert 0 < delay["delay_s"]["mean"] < 5 and delay["delay_s"]["std"] >= 0


def test_monitor_reports_connects_and_disconnects(tmp_path):
    feed = start_feed(tmp_path, "feed2", "--frames-hz", "0")
    try:
        monitor = spawn("monitor", "--json", run_dir=tmp_path)
        time.sleep(2.0)  # events arrive on their own; there is nothing to wait on but time
        stop(feed)
        time.sleep(1.5)
        monitor.terminate()
        out, err = monitor.communicate(timeout=10)
    finally:
        stop(feed)
    events = [(e["node"], e["socket"], e["event"]) for e in map(json.loads, out.splitlines())]
    assert ("feed2", "record", "NODE_UP") in events, err
    assert ("feed2", "pub", "HANDSHAKE_SUCCEEDED") in events
    assert ("feed2", "control", "HANDSHAKE_SUCCEEDED") in events
    assert ("feed2", "pub", "DISCONNECTED") in events
    assert ("feed2", "record", "NODE_GONE") in events
    assert monitor.returncode == 0

"""record to MCAP (viewer schemas, raw envelopes, ring buffer), play it back, and pub."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time

import jsonschema
import pytest
from mcap.reader import make_reader

from nodes.tap.schema import strip_nulls
from tests.integration.tap.conftest import ROOT, ok, spawn, stop, tap


@pytest.fixture(scope="module")
def recording(system, tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "session.mcap"
    result = tap(
        "record",
        str(path),
        "--topic",
        "core.",
        "--topic",
        "vision.",
        "--topic",
        "system.config.",
        "--duration",
        "3",
        run_dir=system.run_dir,
    )
    ok(result)
    assert "recorded" in result.stderr and "dropped 0" in result.stderr
    return path


def read(path):
    with path.open("rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        return summary, list(reader.iter_messages(log_time_order=True))


def test_recording_opens_with_the_mcap_reader_and_json_validates(recording):
    summary, items = read(recording)
    topics = {c.topic for c in summary.channels.values()}
    assert {
        "core.state",
        "core.state/msgpack",
        "core.event",
        "vision.detections.cam0",
        "vision.frame.cam0.720p",
        "vision.calibration.cam0",
    } <= topics
    validated = 0
    for schema, channel, message in items:
        if channel.message_encoding == "json":
            assert schema is not None and schema.encoding == "jsonschema"
            jsonschema.validate(
                json.loads(message.data),
                json.loads(schema.data),
                cls=jsonschema.Draft202012Validator,
            )
            validated += 1
    assert validated > 100
    frames = [(s, m) for s, c, m in items if c.topic == "vision.frame.cam0.720p"]
    assert frames and frames[0][0].name == "foxglove.CompressedImage"
    assert json.loads(frames[0][1].data)["format"] == "jpeg"
    assert any(c.topic == "vision.calibration.cam0" for _, c, _ in items)  # from the snapshot


def test_play_makes_a_subscriber_see_the_recorded_messages(recording, tmp_path):
    _, items = read(recording)
    states = [json.loads(m.data) for _, c, m in items if c.topic == "core.state"]
    recorded = {json.dumps(s["balls"], sort_keys=True): s for s in states}
    player = spawn(
        "play", str(recording), "--topic", "core.state", "--wait", "10", run_dir=tmp_path
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "nodes" / "tap-play.json").exists():
            assert time.monotonic() < deadline and player.poll() is None, player.stderr.read()
            time.sleep(0.05)
        out = ok(
            tap(
                "echo",
                "core.state",
                "-n",
                "30",
                "--json",
                "--headers",
                "--timeout",
                "20",
                run_dir=tmp_path,
            )
        )
    finally:
        err = stop(player)
    seen = [json.loads(line) for line in out.splitlines()]
    assert all(s["header"]["src"] == "tap-play" for s in seen), err
    for message in seen:
        data = message["data"]
        key = json.dumps(strip_nulls(data["balls"]), sort_keys=True)  # MCAP JSON omits nulls
        original = recorded[key]
        assert data["frame"] == original["frame"]
        shift = data["t_capture_ns"] - original["t_capture_ns"]
        assert shift > 0 and abs(message["recv_ns"] - data["t_capture_ns"]) < 5e9


def test_play_refuses_topics_a_running_node_publishes(recording, system):
    result = tap("play", str(recording), run_dir=system.run_dir)
    assert result.returncode == 2 and "core.state (feed)" in result.stderr
    assert "--remap" in result.stderr


def test_play_errors_on_files_that_are_not_recordings(tmp_path):
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(b"not mcap")
    result = tap("play", str(bad), run_dir=tmp_path)
    assert result.returncode == 2 and "not a readable MCAP file" in result.stderr


def test_ring_buffer_writes_the_last_seconds_on_sigusr1(system, tmp_path):
    base = tmp_path / "last.mcap"
    recorder = spawn(
        "record", str(base), "--topic", "core.state", "--ring", "1.5", run_dir=system.run_dir
    )
    try:
        time.sleep(3.0)  # let the ring fill past its length
        recorder.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("last-*.mcap")):
            assert time.monotonic() < deadline and recorder.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)
        recorder.send_signal(signal.SIGINT)
        _, err = recorder.communicate(timeout=20)
    finally:
        stop(recorder)
    assert recorder.returncode == 0, err
    dump = next(tmp_path.glob("last-*.mcap"))
    summary, _ = read(dump)
    stats = summary.statistics
    assert stats.message_count > 20
    assert (stats.message_end_time - stats.message_start_time) / 1e9 <= 1.6
    assert "wrote" in err and not base.exists()


def test_pub_publishes_a_validated_message_as_its_own_node(system):
    echo = spawn(
        "echo",
        "system.alert.tap-pub",
        "-n",
        "1",
        "--json",
        "--any",
        "--timeout",
        "20",
        run_dir=system.run_dir,
    )
    try:
        body = '{"node": "tap-pub", "level": "info", "code": "hi", "message": "hello"}'
        published = json.loads(
            ok(tap("pub", "system.alert.tap-pub", body, "--wait", "10", run_dir=system.run_dir))
        )
        out, err = echo.communicate(timeout=30)
    finally:
        stop(echo)
    assert published["src"] == "tap-pub" and published["seq"] >= 1
    assert json.loads(out)["data"]["code"] == "hi", err
    bad = tap("pub", "core.state", '{"frame": 1}', run_dir=system.run_dir)
    assert bad.returncode == 2 and "t_capture_ns" in bad.stderr
    clash = tap("pub", "core.state", '{"frame": 1, "t_capture_ns": 1}', run_dir=system.run_dir)
    assert clash.returncode == 2 and "already published by feed" in clash.stderr
    many = tap("pub", "core.event", '{"t_ns": 1}', run_dir=system.run_dir)
    assert many.returncode == 2 and "--type" in many.stderr


HAS_CORE = importlib.util.find_spec("nodes.core.__main__") is not None


@pytest.mark.skipif(not HAS_CORE, reason="nodes.core has no __main__ yet")
def test_play_of_recorded_detections_drives_the_real_core(recording, tmp_path):
    core = subprocess.Popen(
        [sys.executable, "-m", "nodes.core", "--run-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    player = None
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "nodes" / "core.json").exists():
            assert time.monotonic() < deadline and core.poll() is None, core.stderr.read()
            time.sleep(0.05)
        assert json.loads(ok(tap("call", "core", "ping", run_dir=tmp_path)))["pong"] is True
        player = spawn("play", str(recording), "--topic", "vision.", "--loop", run_dir=tmp_path)
        out = ok(
            tap(
                "echo",
                "core.state",
                "-n",
                "3",
                "--json",
                "--headers",
                "--no-snapshot",
                "--timeout",
                "30",
                run_dir=tmp_path,
            )
        )
    finally:
        if player is not None:
            stop(player)
        stop(core)
    states = [json.loads(line) for line in out.splitlines()]
    assert all(s["header"]["src"] == "core" for s in states)
    assert states[-1]["data"]["cameras"] == ["cam0"]
    assert len(states[-1]["data"]["balls"]) == 16  # tracks confirmed from the replayed camera

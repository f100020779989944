"""The bridge's HTTP surface with real processes: topics, state, node requests, metrics, video.

Auth, origins and rate limits are in ``test_bridge_security.py``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from typing import Any

import cv2
import pytest
import tornado.httpclient
from prometheus_client.parser import text_string_to_metric_families

from bridge import wire
from tests.helpers.process import get_json


async def fetch(port: int, path: str, **kwargs: Any) -> tornado.httpclient.HTTPResponse:
    http = tornado.httpclient.AsyncHTTPClient()
    if "body" in kwargs and not isinstance(kwargs["body"], str | bytes):
        kwargs["body"] = json.dumps(kwargs["body"])
    return await http.fetch(
        f"http://127.0.0.1:{port}{path}", raise_error=False, request_timeout=30, **kwargs
    )


def body(response: tornado.httpclient.HTTPResponse) -> Any:
    return json.loads(response.body)


async def until(predicate: Any, timeout: float = 20.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await predicate()):
            await asyncio.sleep(0.1)
        return value


async def test_topics_show_rates_positions_and_subscribers(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.call("core", "publish_events", n=3)
    await client.subscribe(topic="core.state")
    await client.messages("core.state", 5)

    async def listing() -> dict[str, Any] | None:
        topics = {t["topic"]: t for t in body(await fetch(port, "/api/v1/topics"))["topics"]}
        state = topics.get("core.state")
        ready = state and state["publish_hz"] and state["sent"] and "core.event" in topics
        return topics if ready else None

    topics = await until(listing)
    state = topics["core.state"]
    assert state["delivery"] == "latest" and state["source"] == "core"
    assert state["subscribers"] == {"websocket": 1, "mjpeg": 0}
    assert state["received_hz"] > 0 and state["last_seq"] >= 5
    assert topics["core.event"]["delivery"] == "reliable"
    assert topics["core.event"]["last_seq"] >= 3
    assert topics["vision.calibration.cam0"]["delivery"] == "reliable+latest"
    assert topics["vision.calibration.cam0"]["last_seq"] >= 1


async def test_state_is_served_with_or_without_a_websocket_subscriber(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    response = await fetch(port, "/api/v1/state")  # nobody subscribes: asked from the core
    assert response.code == 200, response.body
    state = body(response)
    assert state["topic"] == "core.state" and state["seq"] >= 1
    assert len(state["data"]["balls"]) == 16 and state["t_origin_ns"] > 0
    client = await system.connect(port)
    await client.subscribe(topic="core.state")
    (live,) = await client.messages("core.state", 1)
    cached = body(await fetch(port, "/api/v1/state"))
    assert cached["seq"] >= live["seq"] - 1
    calibration = body(await fetch(port, "/api/v1/topics/vision.calibration.cam0"))
    assert calibration["data"]["camera"] == "cam0" and len(calibration["data"]["homography"]) == 9
    assert (await fetch(port, "/api/v1/topics/vision.detections.cam0")).code == 400
    assert (await fetch(port, "/api/v1/topics/core.trajectory")).code == 404
    assert (await fetch(port, "/api/v1/topics/Not..A.Topic")).code == 404  # not even routed


async def test_node_requests_over_http_read_only_by_get_the_rest_by_post(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    status = await fetch(port, "/api/v1/nodes/core/status")
    assert status.code == 200 and body(status)["node"] == "core"
    config = body(await fetch(port, "/api/v1/nodes/core/config.get"))
    assert config["config"]["log_level"] == "info"
    describe = body(await fetch(port, "/api/v1/nodes/core"))
    assert "requests" in describe
    refused = await fetch(port, "/api/v1/nodes/core/config.set?log_level=debug")
    assert refused.code == 405 and b"POST" in refused.body
    changed = await fetch(
        port, "/api/v1/nodes/core/config.set", method="POST", body={"log_level": "debug"}
    )
    assert changed.code == 200, changed.body
    assert body(changed)["changed"] == ["log_level"]
    bad = await fetch(port, "/api/v1/nodes/core/config.set", method="POST", body={"nope": 1})
    assert bad.code == 400 and body(bad)["error"]["code"] == "bad_request"
    unknown = await fetch(port, "/api/v1/nodes/core/no_such_request", method="POST", body={})
    assert unknown.code == 404 and body(unknown)["error"]["code"] == "unknown_request"
    assert (await fetch(port, "/api/v1/nodes/ghost/status")).code == 404
    not_json = await fetch(port, "/api/v1/nodes/core/reset_game", method="POST", body="{x")
    assert not_json.code == 400
    huge = await fetch(port, "/api/v1/nodes/core/reset_game", method="POST", body="[" * 70000)
    assert huge.code == 413
    nodes = body(await fetch(port, "/api/v1/nodes"))
    assert {"core", "bridge"} <= {n["node"] for n in nodes["nodes"]}


async def test_query_arguments_are_json_where_they_parse(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    reply = await fetch(port, "/api/v1/nodes/core/describe?schemas=true")
    assert reply.code == 200 and body(reply)["schemas"]
    reply = await fetch(port, '/api/v1/nodes/core/describe?args={"schemas":false}')
    assert reply.code == 200 and not body(reply)["schemas"]


async def test_health_has_a_level_and_reason_for_every_node_and_the_bridge(system):
    publisher = system.publisher()
    _, port = await system.bridge(nodes=("core",))
    health = body(await fetch(port, "/api/v1/health"))
    assert health["bridge"]["status"] in ("ok", "degraded")
    assert health["nodes"]["core"]["status"] == "ok"
    publisher.kill()

    async def down() -> dict[str, Any] | None:
        report = body(await fetch(port, "/api/v1/health"))
        return report if report["nodes"]["core"]["status"] == "down" else None

    report = await until(down)
    assert report["status"] == "degraded"
    assert any(r.startswith("core is down: no heartbeat") for r in report["reasons"])


async def test_metrics_are_prometheus_text_with_delivery_latency(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.state")
    await client.subscribe(topic="vision.frame.cam0", rendition="preview")
    await client.messages("core.state", 5)
    await client.until(lambda m: isinstance(m, wire.VideoFrame))
    response = await fetch(port, "/metrics")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.body.decode())}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("cuecast_bridge_connections", (("format", wire.JSON),))] == 1
    assert samples[("cuecast_node_up", (("node", "core"),))] == 1
    out = samples[("cuecast_bridge_topic_messages_out_total", (("topic", "core.state"),))]
    assert out >= 5
    latency = families["cuecast_bridge_delivery_latency_seconds"]
    counts = {s.labels["kind"]: s.value for s in latency.samples if s.name.endswith("_count")}
    assert counts["message"] >= 5 and counts["frame"] >= 1
    assert "cuecast_bridge_process_cpu_seconds" in families
    assert samples[("cuecast_bridge_connection_events_total", (("event", "opened"),))] >= 1


def _read_with_opencv(url: str, frames: int) -> list[tuple[int, int]]:
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    try:
        assert capture.isOpened(), f"OpenCV could not open {url}"
        shapes = []
        for _ in range(frames):
            ok, image = capture.read()
            assert ok and image is not None
            shapes.append(image.shape[:2])
        return shapes
    finally:
        capture.release()


async def test_opencv_plays_the_mjpeg_stream(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    url = f"http://127.0.0.1:{port}/video.mjpeg?rendition=preview&fps=10"
    shapes = await asyncio.wait_for(asyncio.to_thread(_read_with_opencv, url, 5), 60)
    assert shapes == [(180, 320)] * 5


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
async def test_ffmpeg_plays_the_mjpeg_stream(system, tmp_path):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    out = tmp_path / "frame%02d.jpg"
    url = f"http://127.0.0.1:{port}/video.mjpeg?rendition=preview&fps=10"
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        url,
        "-frames:v",
        "3",
        str(out),
    ]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert len(list(tmp_path.glob("frame*.jpg"))) == 3


async def test_mjpeg_rate_is_capped_by_fps_and_interest_ends_with_the_viewer(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    url = f"http://127.0.0.1:{port}/video.mjpeg?rendition=720p&fps=5"
    shapes = await asyncio.wait_for(asyncio.to_thread(_read_with_opencv, url, 2), 60)
    assert shapes == [(720, 1280)] * 2

    async def unwatched() -> bool:
        status = await client.call("core", "status")
        return "vision.frame.cam0.720p" not in status["interest"]

    assert await until(unwatched)
    metrics = (await fetch(port, "/metrics")).body.decode()
    assert 'cuecast_bridge_connection_events_total{event="mjpeg_frames"}' in metrics
    assert get_json(f"http://127.0.0.1:{port}/api/v1/health")["bridge"]["connections"] == 1

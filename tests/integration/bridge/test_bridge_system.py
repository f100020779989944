"""The bridge as a process between real publishers and real clients: state, video, REST."""

from __future__ import annotations

import asyncio
import json

import msgpack
import tornado.httpclient

from bridge import wire
from tests.helpers.process import get_json


async def test_a_tornado_websocket_client_receives_core_state(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    welcome = await client.reply("welcome")
    assert welcome["protocol"] == "1.0" and welcome["server"] == "bridge"
    subscribed = await client.subscribe(topic="core.state")
    assert subscribed["op"] == "subscribed" and subscribed["mode"] == "latest"
    states = await client.messages("core.state", 10)
    assert all(len(s["data"]["balls"]) == 16 for s in states)
    assert all(s["type"] == "core.state" and s["t_origin_ns"] > 0 for s in states)
    seqs = [s["seq"] for s in states]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10


async def test_msgpack_subprotocol_carries_the_same_messages(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port, fmt=wire.MSGPACK)
    assert (await client.reply("welcome"))["format"] == wire.MSGPACK
    await client.subscribe(topic="core.state")
    (state,) = await client.messages("core.state", 1)
    assert len(state["data"]["balls"]) == 16


async def test_mjpeg_yields_jpeg_parts_and_video_jpg_the_newest_frame(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    body = bytearray()
    got_parts = asyncio.Event()

    def chunk(data: bytes) -> None:
        body.extend(data)
        if body.count(b"--cuecastframe") >= 4:
            got_parts.set()

    http = tornado.httpclient.AsyncHTTPClient()
    url = f"http://127.0.0.1:{port}/video.mjpeg?rendition=preview&fps=10"
    fetch = asyncio.ensure_future(
        http.fetch(url, streaming_callback=chunk, request_timeout=60, raise_error=False)
    )
    await asyncio.wait_for(got_parts.wait(), 20)
    fetch.cancel()
    parts = bytes(body).split(b"--cuecastframe\r\n")[1:4]
    for part in parts:
        headers, _, jpeg = part.partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in headers
        length = int(headers.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert jpeg[:2] == b"\xff\xd8" and jpeg[length - 2 : length] == b"\xff\xd9"
    response = await http.fetch(f"http://127.0.0.1:{port}/video.jpg?rendition=preview")
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.body[:2] == b"\xff\xd8"


async def test_video_reaches_websocket_clients_as_binary_frames(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    reply = await client.subscribe(topic="vision.frame.cam0", rendition="preview")
    assert reply["frames"] == "vision.frame.cam0.preview"
    frame = await client.until(lambda m: isinstance(m, wire.VideoFrame))
    assert frame.topic == "vision.frame.cam0.preview" and frame.sub == reply["sub"]
    assert (frame.width, frame.height) == (320, 180)
    assert frame.jpeg[:2] == b"\xff\xd8" and frame.t_capture_ns > 0


async def test_a_rendition_is_subscribed_on_the_bus_only_while_watched(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)

    async def interest() -> list[str]:
        return (await client.call("core", "status"))["interest"]

    assert "vision.frame.cam0.full" not in await interest()
    reply = await client.subscribe(topic="vision.frame.cam0.full")
    await client.until(lambda m: isinstance(m, wire.VideoFrame))
    assert "vision.frame.cam0.full" in await interest()
    await client.send(op="unsubscribe", sub=reply["sub"], id="u")
    await client.reply("unsubscribed")
    async with asyncio.timeout(10):
        while "vision.frame.cam0.full" in await interest():
            await asyncio.sleep(0.05)


async def test_health_reports_a_dead_node_and_picks_it_up_again(system):
    publisher = system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="system.alert.bridge")
    publisher.kill()
    down = await client.reply("message", 20, topic="system.alert.bridge")
    assert down["data"]["code"] == "node_down" and down["data"]["details"]["node"] == "core"
    health = get_json(f"http://127.0.0.1:{port}/api/v1/health")
    assert health["nodes"]["core"]["status"] == "down" and health["status"] == "degraded"
    system.publisher()
    up = await client.reply("message", 20, topic="system.alert.bridge")
    assert up["data"]["code"] == "node_up"
    health = get_json(f"http://127.0.0.1:{port}/api/v1/health")
    assert health["nodes"]["core"]["status"] == "ok"
    await client.subscribe(topic="core.state")
    await client.messages("core.state", 3)  # streams resumed without restarting the bridge


async def test_posted_alert_is_published_reliably_on_the_bridge_topic(system):
    _, port = await system.bridge()
    client = await system.connect(port)
    await client.subscribe(topic="system.alert.bridge", mode="reliable")
    http = tornado.httpclient.AsyncHTTPClient()
    alert = {"level": "warning", "code": "test_alert", "message": "hi", "details": {"n": 1}}
    response = await http.fetch(
        f"http://127.0.0.1:{port}/api/v1/alerts", method="POST", body=json.dumps(alert)
    )
    assert response.code == 201
    posted = json.loads(response.body)
    message = await client.until(
        lambda m: (
            isinstance(m, dict) and m.get("op") == "message" and m["data"]["code"] == "test_alert"
        )
    )
    assert message["seq"] == posted["seq"] and message["data"]["details"] == {"n": 1}
    bad = await http.fetch(
        f"http://127.0.0.1:{port}/api/v1/alerts",
        method="POST",
        body='{"level":"loud"}',
        raise_error=False,
    )
    assert bad.code == 400 and "level" in json.loads(bad.body)["error"]["message"]


async def test_connections_show_per_subscription_counters_and_delete_closes(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    session = (await client.reply("welcome"))["session"]
    await client.subscribe(topic="core.state", mode="queue", queue=5)
    await client.messages("core.state", 3)
    listing = get_json(f"http://127.0.0.1:{port}/api/v1/connections")
    (mine,) = [c for c in listing["connections"] if c["id"] == session]
    counters = mine["subs"]["1"]
    assert {"queued", "dropped", "unacked", "lag_ms", "sent"} <= set(counters)
    assert counters["sent"] >= 3 and counters["mode"] == "queue"
    http = tornado.httpclient.AsyncHTTPClient()
    url = f"http://127.0.0.1:{port}/api/v1/connections/{session}"
    response = await http.fetch(url, method="DELETE")
    assert response.code == 200
    async with asyncio.timeout(10):
        while await client.recv() is not None:
            pass
    assert client.conn.close_code == wire.CLOSE_KICKED
    raw = msgpack.packb({"op": "ping"})
    assert raw  # the msgpack package reads and writes the same maps

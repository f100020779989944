"""Tokens, origins, call permissions, rate and size limits, with real processes and sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import tornado.httpclient
import tornado.websocket

from bridge import wire
from tests.helpers.wsclient import Raw

TOKEN = "s3cret-token"


async def fetch(port: int, path: str, **kwargs: Any) -> tornado.httpclient.HTTPResponse:
    http = tornado.httpclient.AsyncHTTPClient()
    return await http.fetch(
        f"http://127.0.0.1:{port}{path}", raise_error=False, request_timeout=30, **kwargs
    )


async def handshake(port: int, headers: dict[str, str], query: str = "") -> Any:
    request = tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws{query}", headers=headers)
    return await tornado.websocket.websocket_connect(request, subprotocols=[wire.JSON])


async def closed(client: Raw, timeout: float = 10.0) -> tuple[int | None, str | None]:
    async with asyncio.timeout(timeout):
        while await client.recv(timeout) is not None:
            pass
    return client.conn.close_code, client.conn.close_reason


async def test_a_token_guards_websocket_use_and_hello_brings_it(system):
    system.publisher()
    _, port = await system.bridge("--token", TOKEN, nodes=("core",))
    anonymous = await system.connect(port)
    welcome = await anonymous.reply("welcome")
    assert welcome["authorized"] is False
    refused = await anonymous.subscribe(topic="core.state")
    assert refused["op"] == "error" and refused["code"] == "unauthorized"
    await anonymous.send(op="hello", id="h", token=TOKEN)
    assert (await anonymous.reply("welcome", id="h"))["authorized"] is True
    assert (await anonymous.subscribe(topic="core.state"))["op"] == "subscribed"
    await anonymous.messages("core.state", 1)

    wrong = await system.connect(port)
    await wrong.send(op="hello", id="h", token="nope")
    assert (await wrong.reply("error"))["code"] == "unauthorized"
    assert (await closed(wrong))[0] == wire.CLOSE_UNAUTHORIZED


async def test_a_token_in_the_query_or_a_bearer_header_authorizes_the_handshake(system):
    _, port = await system.bridge("--token", TOKEN)
    by_query = await system.connect(port, query=f"?token={TOKEN}")
    assert (await by_query.reply("welcome"))["authorized"] is True
    by_header = await handshake(port, {"Authorization": f"Bearer {TOKEN}"})
    assert json.loads(await by_header.read_message())["authorized"] is True
    by_header.close()
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await handshake(port, {}, query="?token=wrong")
    assert refused.value.code == 401


async def test_mutating_routes_need_the_token_and_replies_never_show_it(system):
    system.publisher()
    _, port = await system.bridge("--token", TOKEN, nodes=("core",))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    alert = json.dumps({"level": "info", "code": "t", "message": "m"})
    assert (await fetch(port, "/api/v1/alerts", method="POST", body=alert)).code == 401
    posted = await fetch(port, "/api/v1/alerts", method="POST", body=alert, headers=bearer)
    assert posted.code == 201
    assert (await fetch(port, "/api/v1/nodes/core/status")).code == 401
    assert (await fetch(port, "/api/v1/connections/abc", method="DELETE")).code == 401
    config = await fetch(port, "/api/v1/nodes/bridge/config.get", headers=bearer)
    assert config.code == 200
    assert json.loads(config.body)["config"]["token"] == "<redacted>"
    assert TOKEN.encode() not in config.body
    described = await fetch(port, "/api/v1/nodes/bridge", headers=bearer)
    assert TOKEN.encode() not in described.body
    events = await fetch(
        port, "/api/v1/nodes/core/publish_events", method="POST", body='{"n":1}', headers=bearer
    )
    assert events.code == 200, events.body
    assert (await fetch(port, "/api/v1/health")).code == 200  # monitoring stays open
    assert (await fetch(port, "/metrics")).code == 200


async def test_websocket_calls_are_checked_against_the_allow_list(system):
    system.publisher()
    _, port = await system.bridge("--no-trust-loopback", nodes=("core",))
    client = await system.connect(port)
    assert (await client.call("core", "status"))["node"] == "core"
    await client.send(op="call", node="core", request="reset_game", args={}, id="r")
    refused = await client.reply("error", id="r")
    assert refused["code"] == "forbidden" and "reset_game" in refused["message"]
    await client.send(op="call", node="core", request="../etc", args={}, id="bad")
    assert (await client.reply("error", id="bad"))["code"] == "forbidden"
    await client.send(op="call", node="nobody", request="status", args={}, id="who")
    assert (await client.reply("error", id="who"))["code"] == "not_found"
    await client.send(op="call", node="core", request="config.get", args={}, id="cfg")
    assert (await client.reply("reply", id="cfg"))["result"]["node"] == "core"


async def test_with_a_token_the_authorized_client_may_change_things(system):
    system.publisher()
    _, port = await system.bridge("--token", TOKEN, nodes=("core",))
    client = await system.connect(port, query=f"?token={TOKEN}")
    result = await client.call("core", "config.set", log_level="debug")
    assert result["changed"] == ["log_level"]
    config = await client.call("bridge", "config.get")
    assert config["config"]["token"] == "<redacted>"


async def test_websocket_origins_are_checked(system):
    _, port = await system.bridge("--origins", "http://good.example")
    same = await handshake(port, {"Origin": f"http://127.0.0.1:{port}"})
    same.close()
    listed = await handshake(port, {"Origin": "http://good.example"})
    listed.close()
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await handshake(port, {"Origin": "http://evil.example"})
    assert refused.value.code == 403
    metrics = (await fetch(port, "/metrics")).body.decode()
    assert 'cuecast_bridge_refused_total{reason="origin"} 1.0' in metrics


async def test_too_many_new_connections_from_one_address_get_429(system):
    system.publisher()
    _, port = await system.bridge("--connect-rate", "0.2", "--connect-burst", "3", nodes=("core",))
    for _ in range(3):
        await system.connect(port)
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await handshake(port, {})
    assert refused.value.code == 429
    video = await fetch(port, "/video.mjpeg?rendition=preview")
    assert video.code == 429 and int(video.headers["Retry-After"]) >= 1
    assert (await fetch(port, "/api/v1/health")).code == 200


async def test_a_flooding_client_is_rate_limited_then_closed(system):
    _, port = await system.bridge("--inbound-rate", "5", "--abuse-limit", "20")
    client = await system.connect(port)
    await client.reply("welcome")
    for i in range(60):
        await client.send(op="ping", id=i)
    error = await client.reply("error")
    assert error["code"] == "rate_limited"
    code, reason = await closed(client)
    assert code == wire.CLOSE_POLICY and "rate_limited" in (reason or "")


async def test_oversized_and_malformed_messages_get_errors_not_a_crash(system):
    _, port = await system.bridge("--max-message-bytes", "1000")
    client = await system.connect(port)
    await client.reply("welcome")
    await client.conn.write_message("x" * 2000)
    assert (await client.reply("error"))["code"] == "too_large"
    await client.conn.write_message("{not json")
    assert (await client.reply("error"))["code"] == "bad_request"
    await client.conn.write_message(json.dumps({"op": "subscribe", "topic": 7, "id": 1}))
    assert (await client.reply("error", id=1))["code"] == "bad_request"
    await client.conn.write_message(json.dumps({"op": "launch", "id": 2}))
    assert (await client.reply("error", id=2))["code"] == "unknown_op"
    await client.conn.write_message(
        json.dumps({"op": "publish", "topic": "core.state", "data": {}})
    )
    assert (await client.reply("error"))["code"] == "forbidden"
    await client.conn.write_message(b"\x01\x02 binary garbage", binary=True)
    assert (await client.reply("error"))["code"] == "bad_request"
    await client.send(op="ping", id="still")
    assert (await client.reply("pong", id="still"))["id"] == "still"

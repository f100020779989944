"""Protocol v1 end to end over real sockets: options, both subprotocols, hello, call, publish."""

from __future__ import annotations

import itertools

import pytest

from bridge import wire

FORMATS = [wire.JSON, wire.MSGPACK]


async def test_max_hz_conflates_to_the_newest_value(system):
    system.publisher("--state-hz", "60")
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    reply = await client.subscribe(topic="core.state", max_hz=4)
    states = await client.messages("core.state", 4)
    seqs = [s["seq"] for s in states]
    assert all(b - a >= 3 for a, b in itertools.pairwise(seqs)), seqs
    await client.send(op="status", id="st")
    status = (await client.reply("status", id="st"))["subs"][str(reply["sub"])]
    assert status["dropped"] >= 3 * len(states) - 3  # conflated, never queued


async def test_fields_keep_paths_and_where_filters_end_to_end(system):
    system.publisher("--state-hz", "30")
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    shaped = await client.subscribe(topic="core.state", fields=["frame", "balls.number"])
    (state,) = await client.messages("core.state", 1)
    assert state["sub"] == shaped["sub"]
    assert set(state["data"]) == {"frame", "balls"}
    assert all(set(ball) == {"number"} for ball in state["data"]["balls"])
    where = [{"path": "balls.0.number", "op": "in", "value": [0, 1]}]
    kept = await client.subscribe(topic="core.state", where=where, fields=["frame"])
    none = await client.subscribe(
        topic="core.state", where=[{"path": "frame", "op": "lt", "value": 0}]
    )
    message = await client.reply("message", sub=kept["sub"])
    assert set(message["data"]) == {"frame"}
    await client.messages("core.state", 5)
    await client.send(op="status", id="st")
    subs = (await client.reply("status", id="st"))["subs"]
    assert subs[str(none["sub"])]["filtered"] >= 3 and subs[str(none["sub"])]["sent"] == 0
    refused = await client.subscribe(topic="core.state", where=[{"path": "x", "op": "like"}])
    assert refused["op"] == "error" and refused["code"] == "bad_request"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_hello_call_publish_and_status_in_either_subprotocol(system, fmt):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port, fmt=fmt)
    await client.send(op="hello", id=1, session="scoreboard")
    welcome = await client.reply("welcome", id=1)
    assert welcome["format"] == fmt and welcome["protocol"] == "1.0"
    status = await client.call("core", "status")
    assert status["node"] == "core"
    await client.send(
        op="publish",
        id="p",
        topic="system.alert.bridge",
        data={"level": "info", "code": "hi", "message": "from " + fmt, "details": {}},
    )
    published = await client.reply("reply", id="p")
    assert published["result"]["topic"] == "system.alert.bridge"
    assert published["result"]["seq"] >= 1
    await client.send(op="status", id="s")
    assert (await client.reply("status", id="s"))["subs"] == {}
    await client.send(op="launch", id="x")
    assert (await client.reply("error", id="x"))["code"] == "unknown_op"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_resume_with_since_replays_what_was_missed_in_either_subprotocol(system, fmt):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    first = await system.connect(port, fmt=fmt)
    await first.call("core", "publish_events", n=3)
    reply = await first.subscribe(topic="core.event", since={"core.event": {"epoch": "", "seq": 0}})
    assert reply["recovered"] is True
    got = await first.messages("core.event", 3)
    await first.send(op="ack", topic="core.event", seq=got[-1]["seq"])
    position = {"epoch": got[-1]["epoch"], "seq": got[-1]["seq"]}
    first.abort()
    second = await system.connect(port, fmt=fmt)
    await second.call("core", "publish_events", n=4)
    again = await second.subscribe(topic="core.event", since={"core.event": position})
    assert again["recovered"] is True and again["mode"] == "reliable"
    resumed = await second.messages("core.event", 4)
    assert [m["seq"] for m in resumed] == list(range(position["seq"] + 1, position["seq"] + 5))
    assert not any(m["redelivered"] for m in resumed)

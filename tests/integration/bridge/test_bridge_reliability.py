"""Nothing lost: reliable subscribers across disconnects, bridge kills, publisher restarts and
bus overflow; slow clients bounded; bad acks, resumes and subscribes refused clearly."""

from __future__ import annotations

import asyncio
from typing import Any

import psutil

from bridge import wire
from bridge.client import BridgeClient, Gap, Message
from tests.helpers.process import get_json
from tests.helpers.wsclient import Raw


async def publish(client: Raw, n: int, pad: int = 0) -> dict[str, Any]:
    """Ask the stand-in core (through the bridge's ``call``) to publish ``n`` events."""
    result: dict[str, Any] = await client.call("core", "publish_events", n=n, pad=pad)
    return result


async def events(
    client: Raw, count: int, timeout: float = 30.0, ack: bool = True
) -> list[dict[str, Any]]:
    """The next ``count`` events, acked every 100 (as a client should) unless ``ack`` is off."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(await client.reply("message", timeout, topic="core.event"))
            if ack and (len(got) % 100 == 0 or len(got) == count):
                await client.send(op="ack", topic="core.event", seq=got[-1]["seq"])
    return got


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]


async def test_reliable_subscriber_loses_nothing_after_an_abrupt_disconnect(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.event", mode="reliable")
    first = await publish(client, 50)
    got = await events(client, 50, ack=False)
    assert seqs(got) == list(range(first["first"], first["last"] + 1))
    epoch, acked = got[0]["epoch"], got[29]["seq"]
    await client.send(op="ack", topic="core.event", seq=acked)
    client.abort()
    other = await system.connect(port)
    second = await publish(other, 50)
    resumed = await system.connect(port)
    reply = await resumed.subscribe(
        topic="core.event", since={"core.event": {"epoch": epoch, "seq": acked}}
    )
    assert reply["recovered"] is True
    assert reply["positions"]["core.event"] == {"epoch": epoch, "seq": second["last"]}
    again = await events(resumed, second["last"] - acked)
    assert seqs(again) == list(range(acked + 1, second["last"] + 1))
    third = await publish(other, 10)
    live = await events(resumed, 10)
    assert seqs(live) == list(range(third["first"], third["last"] + 1))


async def test_resume_after_the_bridge_is_killed_loses_nothing(system):
    system.publisher()
    bridge, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.event")
    first = await publish(client, 20)
    got = await events(client, 20)
    bridge.kill()
    _, port = await system.bridge(nodes=("core",))  # a new bridge process, nothing kept
    other = await system.connect(port)
    second = await publish(other, 30)
    resumed = await system.connect(port)
    since = {"core.event": {"epoch": got[-1]["epoch"], "seq": got[-1]["seq"]}}
    reply = await resumed.subscribe(topic="core.event", since=since)
    assert reply["recovered"] is True
    again = await events(resumed, 30)
    assert seqs(again) == list(range(first["last"] + 1, second["last"] + 1))


async def test_another_bridge_on_the_same_run_dir_resumes_a_client(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    _, port2 = await system.bridge(name="bridge2", nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.event")
    await publish(client, 10)
    got = await events(client, 5)
    client.abort()
    elsewhere = await system.connect(port2)
    since = {"core.event": {"epoch": got[-1]["epoch"], "seq": got[-1]["seq"]}}
    reply = await elsewhere.subscribe(topic="core.event", since=since)
    assert (
        reply["recovered"] is True and reply["positions"]["core.event"]["seq"] == got[0]["seq"] + 9
    )
    assert seqs(await events(elsewhere, 5)) == list(range(got[-1]["seq"] + 1, got[0]["seq"] + 10))


async def test_reliable_stream_survives_a_publisher_restart(system):
    publisher = system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.event")
    first = await publish(client, 20)
    got = await events(client, 20)
    publisher.kill()
    system.publisher()  # same run dir and name: the journal continues
    await asyncio.to_thread(_wait_alive, port, "core")
    second = await publish(client, 20)
    assert second["first"] == first["last"] + 1 and second["epoch"] == got[0]["epoch"]
    more = await events(client, 20)
    assert seqs(more) == list(range(second["first"], second["last"] + 1))
    assert all(m["epoch"] == got[0]["epoch"] for m in more)


def _wait_alive(port: int, node: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = get_json(f"http://127.0.0.1:{port}/api/v1/health")
        if health["nodes"].get(node, {}).get("alive"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{node} not alive again")


async def test_bus_overflow_is_filled_from_the_journal(system):
    system.publisher("--hwm", "2")
    _, port = await system.bridge("--hwm", "2", nodes=("core",))
    client = await system.connect(port)
    await client.subscribe(topic="core.event")
    burst = await publish(client, 3000, pad=300)
    got = await events(client, 3000, timeout=60)
    assert seqs(got) == list(range(burst["first"], burst["last"] + 1))
    bus = get_json(f"http://127.0.0.1:{port}/api/v1/health")["bridge"]["bus"]
    assert bus.get("filled", 0) > 0, bus  # the HWM really overflowed, and the journal filled it


async def test_backlog_overflow_closes_with_4008_and_the_client_resumes(system):
    system.publisher()
    args = ("--reliable-window", "10", "--reliable-backlog", "50")
    _, port = await system.bridge(*args, nodes=("core",))
    client = await system.connect(port)
    reply = await client.subscribe(topic="core.event")
    assert reply["positions"] == {"core.event": {"epoch": "", "seq": 0}}  # no history yet
    other = await system.connect(port)
    burst = await publish(other, 300)
    async with asyncio.timeout(30):
        while await client.recv() is not None:
            pass
    got = [m for m in client.seen if isinstance(m, dict) and m.get("op") == "message"]
    assert client.conn.close_code == wire.CLOSE_SLOW
    assert "backlog" in (client.conn.close_reason or "")
    assert len(got) <= 10  # never more than the window, unacked
    assert seqs(got) == list(range(burst["first"], burst["first"] + len(got)))
    position = (
        {"epoch": got[-1]["epoch"], "seq": got[-1]["seq"]}
        if got
        else reply["positions"]["core.event"]
    )
    resumed = await system.connect(port)
    again = await resumed.subscribe(topic="core.event", since={"core.event": position})
    assert again["recovered"] is True
    rest: list[dict[str, Any]] = []
    while len(rest) < burst["last"] - position["seq"]:
        message = await resumed.reply("message", 20, topic="core.event")
        rest.append(message)
        await resumed.send(op="ack", topic="core.event", seq=message["seq"])
    assert seqs(rest) == list(range(position["seq"] + 1, burst["last"] + 1))


async def test_stalled_client_stays_in_budget_and_does_not_delay_others(system):
    system.publisher("--event-hz", "200", "--event-bytes", "2000")
    budget = 2 * 2**20
    args = ("--client-max-bytes", str(budget), "--ping-interval", "0")
    bridge, port = await system.bridge(*args, nodes=("core",))
    process = psutil.Process(bridge.pid)
    healthy = await system.connect(port)
    await healthy.subscribe(topic="core.state")
    await healthy.messages("core.state", 30)
    before = process.memory_info().rss
    stalled = await system.connect(port)
    for topic, options in (
        ("vision.frame.cam0", {"rendition": "full"}),
        ("core.state", {"mode": "queue", "queue": 10000}),
        ("core.event", {"mode": "queue", "queue": 10000}),
    ):
        await stalled.subscribe(topic=topic, **options)
    stalled.conn.protocol.stream.socket.setsockopt(  # type: ignore[union-attr]
        __import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096
    )
    start = healthy.seen[-1]["seq"]
    states = await healthy.messages("core.state", 300, timeout=30)  # ~5 s, never reading stalled
    assert seqs(states)[0] > start and len(set(seqs(states))) == 300
    listing = get_json(f"http://127.0.0.1:{port}/api/v1/connections")["connections"]
    (info,) = [c for c in listing if c["held_bytes"] > 0 or c["counts"].get("shed")]
    assert info["held_bytes"] <= budget
    assert sum(s["dropped"] for s in info["subs"].values()) > 0
    growth = process.memory_info().rss - before
    assert growth < budget + 16 * 2**20, f"bridge grew {growth / 2**20:.1f} MiB"


async def test_malformed_acks_resumes_and_subscribes_get_clear_errors(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    client = await system.connect(port)
    await client.reply("welcome")
    cases = [
        ({"op": "ack", "topic": "core.event", "seq": 5}, "no_such_sub"),
        ({"op": "ack", "topic": "core.event"}, "bad_request"),
        ({"op": "ack", "topic": 7, "seq": 1}, "bad_request"),
        (
            {"op": "subscribe", "topic": "core.event", "since": {"core.event": {"epoch": "x"}}},
            "bad_request",
        ),
        (
            {"op": "subscribe", "topic": "core.event", "since": {"Core": {"epoch": "x", "seq": 1}}},
            "bad_topic",
        ),
        ({"op": "subscribe", "topic": "..", "mode": "reliable"}, "bad_topic"),
        ({"op": "subscribe", "topic": "core.state", "mode": "reliable"}, "bad_mode"),
        ({"op": "unsubscribe", "sub": "one"}, "bad_request"),
        ({"op": "resume"}, "unknown_op"),
    ]
    for i, (message, _) in enumerate(cases):
        await client.send(**message, id=i)
    for i, (_, code) in enumerate(cases):
        error = await client.reply("error", id=i)
        assert error["code"] == code, (cases[i], error)
        assert error["message"]
    await client.conn.write_message("{this is not json")
    assert (await client.reply("error"))["code"] == "bad_request"
    reply = await client.subscribe(topic="core.event")
    await publish(client, 3)
    got = await events(client, 3)
    await client.send(op="ack", topic="core.event", seq=got[-1]["seq"] + 100, id="far")
    assert (await client.reply("error", id="far"))["code"] == "bad_ack"
    since = {"core.event": {"epoch": "not-the-epoch", "seq": 2}}
    other = await client.subscribe(topic="core.event", since=since)
    assert other["recovered"] is False and "epoch" in other["unrecovered"]["core.event"]
    await client.send(op="ping", id="alive")
    await client.reply("pong", id="alive")
    assert reply["recovered"] is True


async def test_python_client_resumes_across_a_bridge_restart(system):
    system.publisher()
    bridge, port = await system.bridge(nodes=("core",))
    control = await system.connect(port)
    got: list[Message] = []
    client = BridgeClient(f"ws://127.0.0.1:{port}/ws", backoff=(0.05, 0.5))
    await client.connect()
    subscription = await client.subscribe("core.event")

    async def consume() -> None:
        async for item in subscription:
            assert not isinstance(item, Gap), item
            assert isinstance(item, Message)
            got.append(item)

    consumer = asyncio.ensure_future(consume())
    first = await publish(control, 40)
    async with asyncio.timeout(20):
        while len(got) < 40:
            await asyncio.sleep(0.02)
    bridge.kill()
    _, _ = await system.bridge(port=port, nodes=("core",))
    control = await system.connect(port)
    second = await publish(control, 40)
    async with asyncio.timeout(30):
        while len(got) < 80:
            await asyncio.sleep(0.02)
    consumer.cancel()
    await client.close()
    assert [m.seq for m in got] == list(range(first["first"], second["last"] + 1))
    assert client.connections == 2
    assert client.positions["core.event"]["seq"] >= second["last"] - 1


async def test_python_client_with_saved_positions_gets_everything_after_them(system):
    system.publisher()
    _, port = await system.bridge(nodes=("core",))
    control = await system.connect(port)
    burst = await publish(control, 500)  # published before the client exists
    saved = {"core.event": {"epoch": burst["epoch"], "seq": burst["first"] - 1}}
    client = BridgeClient(f"ws://127.0.0.1:{port}/ws", positions=saved)
    await client.connect()
    subscription = await client.subscribe("core.event")
    assert subscription.recovered is True
    got = [await subscription.get(timeout=20) for _ in range(500)]
    assert client._ws is not None and client._ws.protocol is not None
    stream = client._ws.protocol.stream  # tornado's socket stream under the WebSocket
    await client.close()
    assert [m.seq for m in got] == list(range(burst["first"], burst["last"] + 1))
    # the socket is closed when close() returns (one left to the garbage collector made pytest
    # report an unraisable ResourceWarning now and then)
    assert stream.closed()

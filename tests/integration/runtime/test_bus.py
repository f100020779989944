"""The runtime over real ZeroMQ sockets in one process: welcome, sequences, gap fill, control."""

from __future__ import annotations

import asyncio

import pytest
import zmq

from nodes.runtime import Bus, CommonConfig, ControlClient, NodeRuntime, RunDir, Subscriber
from protocol import messages, topics
from protocol.errors import ControlError, ControlTimeout


def alert(i: int) -> messages.Alert:
    return messages.Alert(node="pub", level="info", code=f"c{i}", message=f"m{i}")


@pytest.fixture
async def node(tmp_path):
    config = CommonConfig(name="pub", run_dir=str(tmp_path), heartbeat_interval=0.2)
    runtime = NodeRuntime(config, "test")
    await runtime.start()
    yield runtime
    await runtime.close()


@pytest.fixture
async def bus():
    b = Bus()
    yield b
    b.close()


async def received_until(items, count, timeout=5.0):
    async with asyncio.timeout(timeout):
        while len(items) < count:
            await asyncio.sleep(0.01)


async def test_subscriber_is_welcomed_and_receives_in_order(node, bus, tmp_path):
    got = []
    sub = Subscriber(bus, name="sub", on_message=got.append, run_dir=RunDir(tmp_path))
    sub.subscribe("system.alert.pub")
    task = asyncio.ensure_future(sub.run())
    await sub.wait_welcomed(["pub"], timeout=5)
    for i in range(5):
        node.alert("info", f"c{i}", f"m{i}")
    await received_until(got, 5)
    assert [e.header.seq for e in got] == [1, 2, 3, 4, 5]
    assert [e.message().code for e in got] == [f"c{i}" for i in range(5)]
    task.cancel()
    sub.close()


async def test_reliable_gap_is_filled_from_the_journal_in_order(node, bus, tmp_path):
    got = []
    sub = Subscriber(bus, name="sub", on_message=got.append, run_dir=RunDir(tmp_path))
    sub.subscribe("system.alert.pub")
    task = asyncio.ensure_future(sub.run())
    await sub.wait_welcomed(["pub"], timeout=5)
    node.alert("info", "c1", "m1")
    await received_until(got, 1)
    # journal two messages the subscriber never sees on the socket, then a live one
    topic = topics.system_alert("pub")
    for i in (2, 3):
        node.journal.append(topic, i, 0, *_frames(node, topic, i))
    node.alert("info", "c4", "m4")
    await received_until(got, 4)
    assert [e.header.seq for e in got] == [1, 2, 3, 4]
    assert sub.counts["filled"] == 2
    task.cancel()
    sub.close()


def _frames(node, topic, seq):
    from protocol import Header, encode_header

    header = Header(
        type="system.alert", src="pub", epoch=node.journal.epoch, seq=seq, t_origin_ns=1, t_pub_ns=1
    )
    return encode_header(header), messages.encode(alert(seq))


async def test_lost_tail_is_noticed_from_heartbeat_positions(node, bus, tmp_path):
    got = []
    sub = Subscriber(bus, name="sub", on_message=got.append, run_dir=RunDir(tmp_path))
    sub.subscribe("system.alert.pub")
    sub.subscribe("system.heartbeat.pub")
    task = asyncio.ensure_future(sub.run())
    await sub.wait_welcomed(["pub"], timeout=5)
    node.alert("info", "c1", "m1")
    async with asyncio.timeout(5):
        while not any(e.topic == "system.alert.pub" for e in got):
            await asyncio.sleep(0.01)
    topic = topics.system_alert("pub")
    node.journal.append(topic, 2, 0, *_frames(node, topic, 2))  # never sent on the socket
    async with asyncio.timeout(5):
        while not any(e.topic == topic and e.header.seq == 2 for e in got):
            await asyncio.sleep(0.01)
    task.cancel()
    sub.close()


async def test_snapshot_delivers_latest_value_once(node, bus, tmp_path):
    got = []
    sub = Subscriber(bus, name="sub", on_message=got.append, run_dir=RunDir(tmp_path))
    sub.subscribe("system.config.pub")
    task = asyncio.ensure_future(sub.run())
    await sub.wait_welcomed(["pub"], timeout=5)
    assert await sub.snapshot("system.config.pub") == 1
    assert await sub.snapshot("system.config.pub") == 0  # same seq: a duplicate
    assert got[0].message().node == "pub"
    task.cancel()
    sub.close()


async def test_control_errors_are_replies_not_crashes(node, bus):
    client = ControlClient(bus, node.control.endpoint)
    assert (await client.request("ping")).value["pong"] is True
    with pytest.raises(ControlError) as info:
        await client.request("no.such.request")
    assert info.value.code == "unknown_request"
    with pytest.raises(ControlError) as info:
        await client.request("replay", {"topic": 5})
    assert info.value.code == "bad_request"
    with pytest.raises(ControlError) as info:
        await client.request("config.set", {"hwm": 5})
    assert "cannot change while running" in info.value.message
    reply = await client.request("config.set", {"log_level": "debug"})
    assert reply.value["changed"] == ["log_level"]
    client.close()


async def test_garbage_on_the_control_socket_gets_an_error_reply(node, bus):
    sock = bus.socket(zmq.REQ)
    sock.connect(node.control.endpoint)
    await sock.send_multipart([b"control", b"\xc1not msgpack", b""])
    reply = await asyncio.wait_for(sock.recv_multipart(), 5)
    assert messages.decode("control.reply", reply[2]).error.code == "bad_request"
    client = ControlClient(bus, node.control.endpoint)
    assert (await client.request("ping")).value["pong"]
    client.close()


async def test_lazy_pirate_gives_up_with_a_clear_timeout(bus, tmp_path):
    client = ControlClient(bus, f"ipc://{tmp_path}/nobody.ctl", timeout=0.1, retries=3)
    with pytest.raises(ControlTimeout, match="3 attempt"):
        await client.request("ping")
    client.close()


async def test_malformed_bus_message_is_counted_and_dropped(node, bus, tmp_path):
    got = []
    sub = Subscriber(bus, name="sub", on_message=got.append, run_dir=RunDir(tmp_path))
    sub.subscribe("system.alert.pub")
    sub.feed([b"system.alert.pub", b"\x00garbage"])
    sub.feed([b"system.alert.pub"])
    assert sub.counts["malformed"] == 2
    assert got == []
    sub.close()


async def test_node_without_journal_starts_and_answers(bus, tmp_path):
    config = CommonConfig(name="tool", run_dir=str(tmp_path))
    async with NodeRuntime(config, "tool", journal=False) as tool:
        client = ControlClient(bus, tool.control.endpoint)
        status = (await client.request("status")).value
        assert status["journal"] == {}
        assert not any(t.startswith("system.welcome") for t in status["published"])
        client.close()

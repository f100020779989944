"""Delivery counting on encoded messages: peek, latency histogram, connection totals."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from bridge import meter, wire
from bridge.item import Item
from bridge.meter import Histogram, Meter, peek
from bridge.traffic import Traffic
from protocol.messages import FrameInfo, encode
from tests.helpers.session import Client, make_item


def _frame_item() -> Item:
    info = FrameInfo(
        camera="cam0", rendition="720p", frame=7, t_capture_ns=5, width=1280, height=720
    )
    return Item(
        "vision.frame.cam0.720p",
        "vision.frame",
        "vision",
        "e",
        3,
        5,
        777,
        encode(info),
        (b"\xff\xd8jpeg\xff\xd9",),
    )


def test_peek_reads_topic_and_publish_time_of_every_message_format():
    item = make_item(topic="core.state", seq=9, type_="core.state", data={"balls": [1, 2]})
    for fmt in (wire.JSON, wire.MSGPACK):
        found = peek(item.encoded(fmt, 12), fmt == wire.MSGPACK)
        assert found is not None
        assert (found.topic, found.t_pub_ns, found.frame) == (b"core.state", item.t_pub_ns, False)
    frame = _frame_item()
    found = peek(frame.encoded(wire.JSON, 4), True)
    assert found is not None and (found.topic, found.t_pub_ns, found.frame) == (
        b"vision.frame.cam0.720p",
        777,
        True,
    )


def test_peek_leaves_control_messages_and_garbage_alone():
    for data in (
        wire.encode(wire.JSON, {"op": "pong"}),
        wire.encode(wire.MSGPACK, {"op": "welcome", "session": "x"}),
        b"",
        b"\x01",
        b'{"op":"message","sub":1}',
        b'{"op":"message","sub":1,"topic":"a","t_pub_ns":x,}',
    ):
        assert peek(data, isinstance(data, bytes) and not data.startswith(b"{")) is None


@given(st.binary(max_size=300))
def test_peek_never_raises_on_arbitrary_bytes(data):
    for binary in (True, False):
        peek(data, binary)
        peek(b'{"op":"message"' + data, binary)
        peek(bytes([0x8A]) + b"\xa2op\xa7message" + data, binary)


def test_large_topic_names_and_publish_times_survive_msgpack_peeking():
    topic = "system.config." + "n" * 40
    item = make_item(topic=topic, seq=2**40)
    item.t_pub_ns = 1_800_000_000_000_000_000
    found = peek(item.encoded(wire.MSGPACK, 2**20), True)
    assert found is not None and found.topic == topic.encode()
    assert found.t_pub_ns == 1_800_000_000_000_000_000


def test_unrecovered_resume_replies_are_recognised_in_both_formats():
    reply = {"op": "subscribed", "sub": 1, "recovered": False, "unrecovered": {"a": "gone"}}
    ok = {"op": "subscribed", "sub": 1, "recovered": True}
    for fmt in (wire.JSON, wire.MSGPACK):
        assert meter.unrecovered(wire.encode(fmt, reply))
        assert not meter.unrecovered(wire.encode(fmt, ok))


def test_histogram_buckets_are_cumulative_and_quantiles_are_upper_bounds():
    histogram = Histogram()
    for ms in (0.3, 0.8, 3, 3, 40):
        histogram.observe(ms / 1e3)
    pairs = dict(histogram.cumulative())
    assert pairs["0.0005"] == 1 and pairs["0.001"] == 2 and pairs["0.003"] == 4
    assert pairs["+Inf"] == 5 and histogram.count == 5
    assert histogram.quantile(0.5) == 0.003
    assert histogram.quantile(0.99) == 0.05
    assert Histogram().quantile(0.5) is None


def test_written_messages_feed_latency_and_per_topic_counters():
    traffic = Traffic()
    m = Meter(traffic)
    item = make_item(topic="core.state", type_="core.state")
    data = item.encoded(wire.JSON, 1)
    m.wrote(data, False, item.t_pub_ns + 2_000_000)
    frame = _frame_item()
    m.wrote(frame.encoded(wire.JSON, 1), True, 777 + 9_000_000)
    assert m.out[b"core.state"] == 1 and m.out_bytes[b"core.state"] == len(data)
    assert m.latency["message"].count == 1 and m.latency["frame"].count == 1
    assert abs(m.latency["frame"].total - 0.009) < 1e-9
    assert traffic.topics["core.state"].sent == 1


def test_connection_totals_only_grow_and_survive_closing():
    m = Meter()
    m.sample("a", {"dropped": 5, "acks": 2})
    m.sample("a", {"dropped": 3, "acks": 4})  # a stream went away: its drops still count
    m.sample("b", {"dropped": 1})
    assert m.totals()["dropped"] == 6 and m.totals()["acks"] == 4
    m.retire("a")
    m.sample("b", {"dropped": 2})
    assert m.totals()["dropped"] == 7


def test_session_counters_read_a_real_session():
    client = Client()
    client.subscribe(topic="core.state", values=[make_item(topic="core.state", seq=1)])
    session = client.session
    for seq in (2, 3):
        session.offer(make_item(topic="core.state", seq=seq, type_="core.state"), 0.0)
    counters = meter.session_counters(session)
    assert counters["dropped"] >= 1
    assert set(counters) == set(meter.COUNTERS)
    assert msgspec.json.encode(counters)

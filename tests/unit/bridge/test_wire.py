"""The WebSocket wire codec: client ops, spliced server messages, video frames, MJPEG parts."""

from __future__ import annotations

import json

import msgpack
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge import wire
from bridge.item import Item
from bridge.mjpeg import mjpeg_part

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)
op_like = st.fixed_dictionaries(
    {"op": st.sampled_from(["subscribe", "ack", "ping", "unsubscribe", "hello", "call", "x"])},
    optional={
        "topic": json_values,
        "seq": json_values,
        "sub": json_values,
        "id": json_values,
        "since": json_values,
        "mode": json_values,
        "queue": json_values,
    },
)


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_an_op_or_a_coded_refusal(data):
    for fmt in wire.SUBPROTOCOLS:
        try:
            op = wire.decode(fmt, data)
        except wire.WireError as exc:
            assert exc.code in wire.ERRORS
        else:
            assert isinstance(op, wire.Op)


@given(op_like)
def test_any_map_decodes_to_an_op_or_a_coded_refusal_in_both_formats(message):
    for fmt, data in (
        (wire.JSON, json.dumps(message)),
        (wire.MSGPACK, msgpack.packb(message)),
    ):
        try:
            op = wire.decode(fmt, data)
        except wire.WireError as exc:
            assert exc.code in {"bad_request", "unknown_op"}
            if isinstance(message.get("id"), int | str) and not isinstance(message["id"], bool):
                assert exc.id == message["id"]
        else:
            assert op.__struct_config__.tag == message["op"]


def test_refusals_say_what_is_wrong():
    cases = {
        '{"op":"ack","topic":"core.event","seq":"7"}': ("bad_request", "$.seq"),
        '{"op":"jump"}': ("unknown_op", "jump"),
        '{"topic":"core.state"}': ("bad_request", "op"),
        "[]": ("bad_request", "map"),
        "{": ("bad_request", "JSON"),
    }
    for text, (code, hint) in cases.items():
        with pytest.raises(wire.WireError) as info:
            wire.decode(wire.JSON, text)
        assert info.value.code == code and hint in info.value.message


def test_json_message_with_a_spliced_sub_is_the_full_encoding():
    item = Item(
        "core.event",
        "event.game_reset",
        "core",
        "e1",
        5,
        10,
        20,
        msgspec.msgpack.encode({"a": [1.5, "x"]}),
    )
    data = item.encoded(wire.JSON, 42, redelivered=True)
    assert json.loads(data) == {
        "op": "message",
        "sub": 42,
        "topic": "core.event",
        "type": "event.game_reset",
        "epoch": "e1",
        "seq": 5,
        "t_origin_ns": 10,
        "t_pub_ns": 20,
        "redelivered": True,
        "data": {"a": [1.5, "x"]},
    }
    assert item.encoded(wire.JSON, 42, redelivered=True) is data  # encoded once


@given(st.integers(0, 2**32 - 1), json_values)
def test_msgpack_message_decodes_with_the_plain_msgpack_package(sub, data):
    body = msgpack.packb(data)
    item = Item("core.state", "core.state", "core", "e", 1, 2, 3, body)
    decoded = msgpack.unpackb(item.encoded(wire.MSGPACK, sub), strict_map_key=False)
    assert decoded["op"] == "message" and decoded["sub"] == sub
    assert decoded["data"] == msgpack.unpackb(body, strict_map_key=False)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**62),
    st.integers(0, 2**16 - 1),
    st.from_regex(r"vision\.frame\.[a-z0-9]{1,8}\.[a-z0-9]{1,8}", fullmatch=True),
    st.binary(max_size=64),
)
def test_video_frame_header_round_trips(sub, seq, t_ns, width, topic, jpeg):
    header = wire.frame_header(sub, seq, t_ns, t_ns + 1, 7, width, 480, topic)
    frame = wire.parse_frame(header + jpeg)
    assert (frame.sub, frame.seq, frame.t_capture_ns, frame.t_pub_ns) == (sub, seq, t_ns, t_ns + 1)
    assert (frame.frame, frame.width, frame.height, frame.topic, frame.jpeg) == (
        7,
        width,
        480,
        topic,
        jpeg,
    )
    assert header[0] == wire.FRAME_KIND  # a MessagePack map never starts with 0x01


@given(st.binary(max_size=60))
def test_garbage_is_not_taken_for_a_video_frame(data):
    try:
        frame = wire.parse_frame(data)
    except (ValueError, UnicodeDecodeError):
        return
    assert len(frame.jpeg) <= len(data)


def test_mjpeg_part_is_boundary_headers_jpeg_crlf():
    jpeg = b"\xff\xd8abc\xff\xd9"
    part = mjpeg_part(jpeg, t_ns=1_500_000_000)
    assert part.startswith(b"--cuecastframe\r\nContent-Type: image/jpeg\r\n")
    assert b"Content-Length: 7\r\n" in part and b"X-Timestamp: 1.500000\r\n\r\n" in part
    assert part.endswith(b"\r\n\r\n" + jpeg + b"\r\n")
    assert (
        mjpeg_part(b"", boundary="b")
        == b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: 0\r\n\r\n\r\n"
    )


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_coalesced_websocket_frames_follow_rfc_6455(size):
    from bridge.ws import websocket_frame

    data = bytes(size)
    text, binary = websocket_frame(data, False), websocket_frame(data, True)
    assert (text[0], binary[0]) == (0x81, 0x82)  # FIN, text/binary, unmasked
    length = text[1]
    header = 2 if length < 126 else 4 if length == 126 else 10
    assert length == min(size, 126 if size < 65536 else 127) or size < 126
    assert len(text) == header + size and text[header:] == data

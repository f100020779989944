"""The envelope: frames in, frames out, and the documented errors for broken input."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import Header, messages, pack, unpack
from protocol.errors import DecodeError, FramingError, ProtocolError, VersionMismatch

HEADER = Header(type="system.alert", src="core", epoch="e1", seq=7, t_origin_ns=10, t_pub_ns=11)
ALERT = messages.Alert(node="core", level="info", code="c", message="m")


def test_pack_unpack_round_trip_keeps_topic_header_body_and_blobs():
    frames = pack("system.alert.core", HEADER, ALERT, [b"\xff" * 10])
    env = unpack(frames)
    assert env.topic == "system.alert.core"
    assert env.header == HEADER
    assert env.message() == ALERT
    assert env.blobs == (b"\xff" * 10,)


def test_header_is_a_plain_msgpack_map_with_documented_keys():
    frames = pack("system.alert.core", HEADER, ALERT)
    raw = msgpack.unpackb(frames[1])
    assert raw == {
        "v": [1, 0],
        "type": "system.alert",
        "src": "core",
        "epoch": "e1",
        "seq": 7,
        "t_origin_ns": 10,
        "t_pub_ns": 11,
    }


@pytest.mark.parametrize("count", [0, 1, 2])
def test_truncated_messages_raise_framing_error(count):
    frames = pack("system.alert.core", HEADER, ALERT)[:count]
    with pytest.raises(FramingError):
        unpack(frames)


def test_another_major_version_raises_version_mismatch():
    header = msgpack.packb({**msgpack.unpackb(pack("t", HEADER, ALERT)[1]), "v": [2, 0]})
    with pytest.raises(VersionMismatch, match=r"2\.0"):
        unpack([b"t", header, b"\x80"])


def test_newer_minor_version_with_extra_header_fields_is_accepted():
    raw = {**msgpack.unpackb(pack("t", HEADER, ALERT)[1]), "v": [1, 9], "trace": "abc"}
    env = unpack([b"t", msgpack.packb(raw), b"\x80"])
    assert env.header.v == (1, 9)


def test_malformed_version_raises_version_mismatch():
    raw = {**msgpack.unpackb(pack("t", HEADER, ALERT)[1]), "v": "one"}
    with pytest.raises(VersionMismatch):
        unpack([b"t", msgpack.packb(raw), b"\x80"])


def test_header_missing_seq_raises_decode_error():
    raw = msgpack.unpackb(pack("t", HEADER, ALERT)[1])
    del raw["seq"]
    with pytest.raises(DecodeError, match="seq"):
        unpack([b"t", msgpack.packb(raw), b"\x80"])


def test_non_utf8_topic_raises_framing_error():
    frames = pack("t", HEADER, ALERT)
    with pytest.raises(FramingError):
        unpack([b"\xff\xfe", *frames[1:]])


@given(st.lists(st.binary(max_size=40), min_size=0, max_size=5))
def test_arbitrary_frames_raise_only_protocol_errors(frames):
    try:
        env = unpack(frames)
        env.message()
    except ProtocolError:
        pass


def test_invalid_utf8_in_header_or_body_strings_is_a_decode_error():
    raw = msgpack.packb({**msgpack.unpackb(pack("t", HEADER, ALERT)[1])})
    bad_header = raw.replace(b"\xa4core", b"\xa4\xff\xfe\xfd\xfc")
    with pytest.raises(DecodeError):
        unpack([b"t", bad_header, b"\x80"])
    body = messages.encode(ALERT).replace(b"\xa4core", b"\xa4\xff\xfe\xfd\xfc")
    with pytest.raises(DecodeError):
        messages.decode("system.alert", body)
    with pytest.raises(DecodeError):
        messages.decode_raw(body)

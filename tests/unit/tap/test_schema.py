"""MCAP channel schemas: every message type opens in Lichtblick/Foxglove and its JSON validates."""

from __future__ import annotations

import json

import jsonschema
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.tap import schema
from nodes.tap.recorder import channel_schema, json_data
from protocol import Envelope, Header, messages
from tests.helpers.strategies import struct

SCALARS = {"boolean", "string", "number", "integer"}


def lichtblick_accepts(node, where="root"):
    """Python port of the rules of Lichtblick's parseJsonSchema (mcap-support): raises on what
    it rejects."""
    assert node.get("type") == "object", f"{where}: expected type object, got {node.get('type')}"
    for name, field in node["properties"].items():
        kind, path = field.get("type"), f"{where}.{name}"
        if kind in ("boolean", "number", "integer"):
            continue
        if kind == "string":
            assert field.get("contentEncoding") in (None, "base64"), path
        elif kind == "object":
            lichtblick_accepts(field, path)
        elif kind == "array":
            item = field["items"]
            assert item.get("type") in SCALARS | {"object"}, f"{path}: array of {item}"
            if item["type"] == "string":
                assert "contentEncoding" not in item, path
            if item["type"] == "object":
                lichtblick_accepts(item, path)
        else:
            raise AssertionError(f"{path}: unsupported field type {kind!r}")


@pytest.mark.parametrize("type_", sorted(messages.MESSAGES))
def test_every_message_type_has_a_schema_lichtblick_accepts(type_):
    lichtblick_accepts(schema.for_type(type_))
    jsonschema.Draft202012Validator.check_schema(schema.for_type(type_))


def test_frames_are_foxglove_compressed_images_and_events_one_merged_schema():
    name, frame = channel_schema("vision.frame.cam0.720p", "vision.frame")
    assert name == "foxglove.CompressedImage"
    assert {"timestamp", "frame_id", "data", "format"} <= frame["properties"].keys()
    assert frame["properties"]["data"]["contentEncoding"] == "base64"
    lichtblick_accepts(frame)
    name, events = channel_schema("core.event", "event.collision")
    assert name == "cuecast.core.event"
    assert "event.collision" in events["properties"]["type"]["enum"]
    lichtblick_accepts(events)
    assert channel_schema("bridge.stats", "bridge.stats") == ("", None)


def test_optional_fields_become_their_type_and_nulls_are_left_out():
    state = schema.for_type("core.state")
    assert state["properties"]["cue"]["type"] == "object"
    assert schema.strip_nulls({"a": None, "b": [None, {"c": None}]}) == {"b": [None, {}]}


def test_fields_the_viewer_cannot_describe_leave_the_schema_not_the_data():
    calibration = schema.for_type("vision.calibration")
    assert "corners_px" not in calibration["properties"]  # list of lists
    assert "homography" in calibration["properties"]


def test_inline_refuses_recursive_schemas():
    recursive = {
        "$ref": "#/$defs/A",
        "$defs": {"A": {"type": "object", "properties": {"next": {"$ref": "#/$defs/A"}}}},
    }
    with pytest.raises(ValueError, match="recursive"):
        schema.inline(recursive)


def _envelope(topic, message, blobs=()):
    header = Header(type=message.TYPE, src="n", epoch="e", seq=1, t_origin_ns=5, t_pub_ns=6)
    return Envelope(topic=topic, header=header, body=messages.encode(message), blobs=blobs)


def _topic_for(type_):
    for spec in __import__("protocol").topics.SPECS:
        if type_ in messages.types_for_topic(spec.pattern.replace("*", "x")):
            return spec.pattern.replace("*", "x")
    return "other.topic"


@pytest.mark.parametrize("type_", sorted(messages.MESSAGES))
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_json_bodies_of_any_message_validate_against_their_channel_schema(type_, data):
    message = data.draw(struct(messages.MESSAGES[type_]))
    topic = _topic_for(type_)
    env = _envelope(topic, message, blobs=(b"\xff\xd8jpeg",) if type_ == "vision.frame" else ())
    body = json_data(env)
    _, channel = channel_schema(topic, type_)
    assert body is not None
    if channel is not None:
        jsonschema.validate(json.loads(body), channel, cls=jsonschema.Draft202012Validator)


def test_frame_body_carries_the_jpeg_as_base64_and_the_metadata():
    info = messages.FrameInfo(
        camera="cam0", rendition="720p", frame=3, t_capture_ns=7, width=2, height=1
    )
    body = json.loads(json_data(_envelope("vision.frame.cam0.720p", info, (b"\xff\xd8",))))
    assert body["data"] == "/9g=" and body["frame_id"] == "cam0" and body["format"] == "jpeg"
    assert body["timestamp"] == {"sec": 0, "nsec": 5} and body["info"]["frame"] == 3


def test_unknown_types_are_schemaless_json_and_bad_bodies_have_none():
    header = Header(type="x.new", src="n", epoch="e", seq=1, t_origin_ns=5, t_pub_ns=6)
    env = Envelope(topic="x.new", header=header, body=msgspec.msgpack.encode({"a": 1, "b": None}))
    assert json.loads(json_data(env)) == {"a": 1}
    bad = Envelope(
        topic="core.state",
        header=Header(type="core.state", src="n", epoch="e", seq=1, t_origin_ns=5, t_pub_ns=6),
        body=b"\xc1",
    )
    assert json_data(bad) is None

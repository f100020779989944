"""Every message type round-trips, and third-party msgpack decoders read it as plain maps."""

from __future__ import annotations

import msgpack
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import messages, topics
from protocol.errors import DecodeError, UnknownMessageType
from tests.helpers import strategies

ALL_TYPES = sorted(messages.MESSAGES)


def test_registry_types_are_unique_and_match_their_classes():
    assert len(ALL_TYPES) == len(set(ALL_TYPES))
    for type_, cls in messages.MESSAGES.items():
        assert type_ == cls.TYPE
        assert "." in type_


@pytest.mark.parametrize("type_", ALL_TYPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_message_round_trips_and_plain_msgpack_reads_it(type_, data):
    cls = messages.MESSAGES[type_]
    original = data.draw(strategies.struct(cls))
    body = messages.encode(original)
    assert messages.decode(type_, body) == original
    plain = msgpack.unpackb(body, raw=False)
    assert isinstance(plain, dict)
    assert plain == msgspec.to_builtins(original)


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_every_message_has_a_json_schema(type_):
    schema = messages.json_schema(type_)
    assert "$ref" in schema or "properties" in schema


def test_unknown_fields_are_ignored_so_newer_minors_interoperate():
    body = msgpack.packb({"node": "core", "level": "info", "code": "x", "message": "m", "new": 1})
    alert = messages.decode("system.alert", body)
    assert alert == messages.Alert(node="core", level="info", code="x", message="m")


def test_unknown_message_type_raises_unknown_message_type():
    with pytest.raises(UnknownMessageType) as info:
        messages.decode("core.teleport", b"\x80")
    assert info.value.type == "core.teleport"


@pytest.mark.parametrize(
    "body",
    [b"", b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"node": 3})],
    ids=["empty", "invalid-byte", "array-not-map", "wrong-field-type"],
)
def test_malformed_bodies_raise_decode_error(body):
    with pytest.raises(DecodeError):
        messages.decode("system.alert", body)


def test_missing_required_field_names_the_field():
    with pytest.raises(DecodeError, match="code"):
        messages.decode("system.alert", msgpack.packb({"node": "a", "level": "info"}))


def test_every_topic_family_carries_registered_types():
    for spec in topics.SPECS:
        example = spec.pattern.replace("*", "x")
        found = messages.types_for_topic(example)
        assert found, spec.pattern
        assert all(t in messages.MESSAGES for t in found)


def test_core_event_carries_every_event_type():
    assert set(messages.types_for_topic("core.event")) == set(messages.EVENT_TYPES)
    assert len(messages.EVENT_TYPES) >= 11


def test_from_builtins_validates_json_input():
    alert = messages.from_builtins(
        "system.alert", {"node": "bridge", "level": "warning", "code": "c", "message": "m"}
    )
    assert alert.level == "warning"
    with pytest.raises(DecodeError):
        messages.from_builtins("system.alert", {"node": "b", "level": "loud", "code": "c"})

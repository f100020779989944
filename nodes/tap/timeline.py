"""What ``play`` republishes and when (pure apart from reading the MCAP file).

:func:`plan` picks one source channel per recorded topic (the raw ``<topic>/msgpack`` channel
when present, else the JSON channel), :func:`item` turns an MCAP message back into a
publishable message, and :class:`Clock` maps recorded time to wall time: message at log time
``t`` is sent at ``wall0 + (t - log0) / rate``. Unless times are kept, the same map moves
``t_origin_ns`` and the body's top-level ``t_ns`` / ``t_<name>_ns`` fields, so relative timing
is exact, capture-to-now latency stays meaningful, and looping never makes time run backwards.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from mcap.records import Channel, Message, Schema

from nodes.tap import schema as schemas
from protocol import decode_header, messages, topics
from protocol.errors import ProtocolError

_TIME_FIELD: Final = re.compile(r"^t(_[a-z0-9]+)?_ns$")


@dataclass(frozen=True, slots=True)
class Source:
    """The channel a recorded topic is read from."""

    topic: str
    channel: str
    raw: bool


@dataclass(frozen=True, slots=True)
class Item:
    """One message ready to publish."""

    topic: str
    type: str
    body: bytes
    blobs: tuple[bytes, ...]
    t_origin_ns: int


def plan(channels: Sequence[Channel]) -> dict[str, Source]:
    """Recorded topic -> its source channel (raw preferred)."""
    found: dict[str, Source] = {}
    for channel in channels:
        topic = channel.metadata.get("cuecast.topic")
        if topic is None:
            continue
        raw = channel.metadata.get("cuecast.encoding") == "envelope"
        if raw or topic not in found:
            found[topic] = Source(topic, channel.topic, raw)
    return found


def parse_remaps(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``OLD=NEW`` pairs (topics, or prefixes ending at a dot); ValueError when malformed."""
    pairs = []
    for spec in specs:
        old, sep, new = spec.partition("=")
        if not sep or not old or not new or old.endswith(".") != new.endswith("."):
            raise ValueError(f"bad remap {spec!r}: use OLD=NEW (both topics or both prefixes)")
        topics.validate_prefix(old)
        topics.validate_prefix(new)
        pairs.append((old, new))
    return pairs


def remap(topic: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The topic to publish a recorded topic on (the first matching remap wins)."""
    for old, new in pairs:
        if topic == old:
            return new
        if old.endswith(".") and topic.startswith(old):
            return topics.validate(new + topic[len(old) :])
    return topic


def item(source: Source, schema: Schema | None, message: Message, topic: str) -> Item:
    """The publishable form of one recorded message (raises ProtocolError if unreadable)."""
    if source.raw:
        try:
            frames = msgspec.msgpack.decode(message.data, type=list[bytes])
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ProtocolError(f"bad envelope in {source.channel}: {exc}") from exc
        if len(frames) < 2:
            raise ProtocolError(f"bad envelope in {source.channel}: {len(frames)} frame(s)")
        header = decode_header(frames[0])
        return Item(topic, header.type, frames[1], tuple(frames[2:]), header.t_origin_ns)
    return _from_json(source, schema, message, topic)


def _from_json(source: Source, schema: Schema | None, message: Message, topic: str) -> Item:
    try:
        data = json.loads(message.data)
    except ValueError as exc:
        raise ProtocolError(f"bad JSON in {source.channel}: {exc}") from exc
    blobs: tuple[bytes, ...] = ()
    declared = messages.types_for_topic(source.topic)
    if schema is not None and schema.name == "foxglove.CompressedImage":
        type_, blobs = schemas.FRAME_TYPE, (base64.b64decode(data.get("data", "")),)
        data = data.get("info", {})
    elif len(declared) > 1:
        type_ = str(data.pop(schemas.TYPE_KEY, ""))
    elif len(declared) == 1:
        type_ = declared[0]
    else:
        raise ProtocolError(f"{source.channel}: unknown message type (record with msgpack)")
    body = messages.encode(messages.from_builtins(type_, data))
    return Item(topic, type_, body, blobs, message.publish_time or message.log_time)


class Clock:
    """Recorded time -> wall time, at ``rate``."""

    def __init__(self, log0: int, wall0: int, rate: float) -> None:
        self.log0 = log0
        self.wall0 = wall0
        self.rate = rate

    def wall(self, t_ns: int) -> int:
        """Wall time (ns) for recorded time ``t_ns``."""
        return self.wall0 + int((t_ns - self.log0) / self.rate)


def retime(body: bytes, clock: Clock) -> bytes:
    """``body`` with its top-level ``t_ns`` / ``t_<name>_ns`` fields mapped by ``clock``."""
    try:
        data = msgspec.msgpack.decode(body)
    except msgspec.DecodeError:
        return body
    if not isinstance(data, dict):
        return body
    fields = [k for k, v in data.items() if _TIME_FIELD.match(str(k)) and _stamp(v)]
    if not fields:
        return body
    for key in fields:
        data[key] = clock.wall(data[key])
    return msgspec.msgpack.encode(data)


def _stamp(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 10**17


def conflicts(planned: Mapping[str, str], live: Mapping[str, Sequence[str]]) -> list[str]:
    """Topics to publish that a live node already publishes (``live``: node -> its topics)."""
    found = []
    for topic in sorted(set(planned.values())):
        owners = [n for n, owned in live.items() if topic in owned]
        owners += [n for n in live if topic.startswith("system.") and topic.endswith("." + n)]
        if owners:
            found.append(f"{topic} ({', '.join(sorted(set(owners)))})")
    return found

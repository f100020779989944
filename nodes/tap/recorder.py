"""Writing envelopes to MCAP files: channels, schemas, splitting (file I/O only, no sockets).

Each topic gets up to two channels:

- ``<topic>``: ``json`` message encoding with a ``jsonschema`` schema (:mod:`nodes.tap.schema`),
  what Foxglove and Lichtblick show; JPEG frames as ``foxglove.CompressedImage``;
- ``<topic>/msgpack``: ``msgpack`` message encoding, no schema, metadata
  ``cuecast.encoding=envelope``: each message is a MessagePack array of the raw frames
  ``[header, body, *blobs]`` (body and blobs byte for byte as received; the header re-encoded
  from its decoded form), which ``cuecast tap play`` republishes exactly.

``log_time`` is when the tap received the message, ``publish_time`` the header's ``t_pub_ns``,
``sequence`` its ``seq``. Viewers list the msgpack channels as unsupported: record with
``--no-raw`` for a file meant only for viewing (``play`` then rebuilds messages from JSON).
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import msgspec
from mcap.writer import CompressionType, Writer

from nodes.tap import schema as schemas
from protocol import Envelope, encode_header, messages, topics
from protocol.errors import ProtocolError

RAW_SUFFIX: Final = "/msgpack"
LIBRARY: Final = "cuecast-tap"
COMPRESSION: Final = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}
_json: Final = msgspec.json.Encoder()
_msgpack: Final = msgspec.msgpack.Encoder()


@dataclass(frozen=True, slots=True)
class Options:
    """What to write and when to start a new file."""

    json: bool = True
    raw: bool = True
    compression: str = "zstd"
    chunk_size: int = 1 << 20
    split_bytes: int | None = None
    split_seconds: float | None = None
    overwrite: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


def raw_data(env: Envelope) -> bytes:
    """The msgpack channel's message: ``[header, body, *blobs]`` as MessagePack bins."""
    return _msgpack.encode([encode_header(env.header), env.body, *env.blobs])


def json_data(env: Envelope) -> bytes | None:
    """The JSON channel's message, or None when the body cannot be decoded."""
    type_ = env.header.type
    try:
        if type_ not in messages.MESSAGES:
            return _json.encode(schemas.strip_nulls(messages.decode_raw(env.body)))
        data = msgspec.to_builtins(messages.decode(type_, env.body))
    except ProtocolError:
        return None
    if type_ == schemas.FRAME_TYPE:
        jpeg = env.blobs[0] if env.blobs else b""
        return _json.encode(schemas.frame_body(data, jpeg, env.header.t_origin_ns))
    body = schemas.strip_nulls(data)
    if len(messages.types_for_topic(env.topic)) > 1:
        body = {schemas.TYPE_KEY: type_, **body}
    return _json.encode(body)


def channel_schema(topic: str, type_: str) -> tuple[str, dict[str, Any] | None]:
    """Schema name and JSON Schema of a topic's JSON channel (None: schemaless JSON)."""
    declared = messages.types_for_topic(topic)
    if type_ == schemas.FRAME_TYPE:
        return "foxglove.CompressedImage", schemas.frame_schema()
    if len(declared) > 1 and type_ in declared:
        return f"cuecast.{topic}", schemas.merged(topic, declared)
    if type_ in messages.MESSAGES:
        return f"cuecast.{type_}", schemas.for_type(type_)
    return "", None


class McapFile:
    """One open MCAP file and its channel ids."""

    def __init__(self, path: Path, options: Options) -> None:
        self.path = path
        self.options = options
        mode = "wb" if options.overwrite else "xb"
        self.stream: IO[bytes] = open(path, mode)  # noqa: SIM115 (closed in close())
        self.writer = Writer(
            self.stream, chunk_size=options.chunk_size, compression=COMPRESSION[options.compression]
        )
        self.writer.start(profile="", library=LIBRARY)
        if options.metadata:
            self.writer.add_metadata("cuecast", options.metadata)
        self.channels: dict[tuple[str, str], int] = {}
        self.first_ns: int | None = None
        self.messages = 0

    def channel(self, topic: str, kind: str, type_: str) -> int:
        """Channel id of ``(topic, kind)`` (``json`` or ``raw``), registered on first use."""
        key = (topic, kind)
        found = self.channels.get(key)
        if found is not None:
            return found
        meta = {"cuecast.topic": topic, "cuecast.delivery": topics.delivery_of(topic).name or ""}
        if kind == "raw":
            meta["cuecast.encoding"] = "envelope"
            found = self.writer.register_channel(topic + RAW_SUFFIX, "msgpack", 0, meta)
        else:
            name, body = channel_schema(topic, type_)
            schema_id = 0
            if body is not None:
                schema_id = self.writer.register_schema(
                    name, "jsonschema", json.dumps(body).encode()
                )
            found = self.writer.register_channel(topic, "json", schema_id, meta)
        self.channels[key] = found
        return found

    def write(self, env: Envelope, log_ns: int) -> None:
        """Add one message to its channels."""
        header = env.header
        if self.first_ns is None:
            self.first_ns = log_ns
        common = {
            "log_time": log_ns,
            "publish_time": header.t_pub_ns,
            "sequence": header.seq & 0xFFFFFFFF,
        }
        if self.options.json:
            data = json_data(env)
            if data is not None:
                self.writer.add_message(
                    self.channel(env.topic, "json", header.type), data=data, **common
                )
        if self.options.raw:
            self.writer.add_message(
                self.channel(env.topic, "raw", header.type), data=raw_data(env), **common
            )
        self.messages += 1

    def size(self) -> int:
        """Bytes written so far (the chunk being built is not counted)."""
        return self.stream.tell()

    def close(self) -> None:
        """Write the summary and close the file."""
        self.writer.finish()  # type: ignore[no-untyped-call]
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()


def split_name(base: Path, index: int) -> Path:
    """``session.mcap`` -> ``session_000.mcap``."""
    return base.with_name(f"{base.stem}_{index:03d}{base.suffix or '.mcap'}")


class Recorder:
    """Writes envelopes to ``base`` (or ``base_000.mcap``, ``_001`` ... when splitting)."""

    def __init__(self, base: Path, options: Options) -> None:
        self.base = base
        self.options = options
        self.splitting = options.split_bytes is not None or options.split_seconds is not None
        self.files: list[Path] = []
        self.current: McapFile | None = None
        self.messages = 0
        self.bytes_in = 0

    def _open(self) -> McapFile:
        path = split_name(self.base, len(self.files)) if self.splitting else self.base
        self.current = McapFile(path, self.options)
        self.files.append(path)
        return self.current

    def _due(self, current: McapFile, log_ns: int) -> bool:
        opts = self.options
        if opts.split_bytes is not None and current.size() >= opts.split_bytes:
            return True
        age = (log_ns - (current.first_ns or log_ns)) / 1e9
        return opts.split_seconds is not None and age >= opts.split_seconds

    def write(self, env: Envelope, log_ns: int) -> None:
        """Write one message (opening or splitting files as needed)."""
        current = self.current or self._open()
        if self.splitting and current.messages and self._due(current, log_ns):
            current.close()
            current = self._open()
        current.write(env, log_ns)
        self.messages += 1
        self.bytes_in += len(env.body) + sum(len(b) for b in env.blobs)

    def write_all(self, items: Iterable[tuple[int, Envelope]]) -> None:
        """Write many ``(log_ns, envelope)`` pairs."""
        for log_ns, env in items:
            self.write(env, log_ns)

    def size(self) -> int:
        """Bytes on disk so far, all files."""
        done = sum(p.stat().st_size for p in self.files[:-1])
        return done + (self.current.size() if self.current else 0)

    def close(self) -> list[Path]:
        """Finish the current file; returns every file written."""
        if self.current is not None:
            self.current.close()
            self.current = None
        return self.files


class Ring:
    """The last ``seconds`` of messages (and at most ``max_bytes``), kept in memory."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.items: deque[tuple[int, Envelope, int]] = deque()
        self.bytes = 0
        self.evicted = 0

    def add(self, env: Envelope, log_ns: int) -> None:
        """Keep a message; forget what is too old or over the byte budget."""
        size = len(env.body) + sum(len(b) for b in env.blobs) + 64
        self.items.append((log_ns, env, size))
        self.bytes += size
        oldest = log_ns - int(self.seconds * 1e9)
        while self.items and (self.items[0][0] < oldest or self.bytes > self.max_bytes):
            self.bytes -= self.items.popleft()[2]
            self.evicted += 1

    def contents(self) -> list[tuple[int, Envelope]]:
        """A copy of what the ring holds, oldest first."""
        return [(t, env) for t, env, _ in self.items]


def snapshot_name(base: Path, when_ns: int | None = None) -> Path:
    """``session.mcap`` -> ``session-20240501-142501.123.mcap`` for a ring-buffer dump."""
    when_ns = time.time_ns() if when_ns is None else when_ns
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when_ns / 1e9))
    return base.with_name(f"{base.stem}-{stamp}.{when_ns // 1_000_000 % 1000:03d}{base.suffix}")

"""The multipart ZeroMQ message: ``[topic, header, body, *blobs]`` (DESIGN.md §3).

:func:`pack` and :func:`unpack` are a pure pair: sockets only ever see the frames. The body is
kept as bytes until someone asks for it, so a relay forwards it without decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from protocol import messages
from protocol.errors import DecodeError, FramingError
from protocol.messages import Message
from protocol.version import PROTOCOL_VERSION, check_version

Buffer = bytes | bytearray | memoryview

#: Blobs above this size are sent without copying (pyzmq's own threshold is 64 kB as well).
ZERO_COPY_THRESHOLD: Final = 65536


class Header(msgspec.Struct, frozen=True, kw_only=True):
    """The second frame: who sent what, where it sits in its topic's history, and when.

    ``epoch`` names the publisher's history of this topic: it changes only when that history is
    lost (a new process for non-journalled topics, a lost journal for reliable ones), and a
    ``seq`` is only comparable with another of the same epoch. ``seq`` starts at 1 per topic and
    has no gaps. ``t_origin_ns`` is the capture time of the camera frame the message derives from
    (or its creation time), ``t_pub_ns`` the time it was published; both ns since the Unix epoch.
    """

    v: tuple[int, int] = PROTOCOL_VERSION
    type: str
    src: str
    epoch: str
    seq: int
    t_origin_ns: int
    t_pub_ns: int


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """A received message: topic, checked header, undecoded body and any blobs."""

    topic: str
    header: Header
    body: bytes
    blobs: tuple[bytes, ...] = ()

    def message(self) -> Message:
        """Decode and validate the body against the registry (raises ``ProtocolError``)."""
        return messages.decode(self.header.type, self.body)


_header_encoder: Final = msgspec.msgpack.Encoder()
_header_decoder: Final = msgspec.msgpack.Decoder(Header)


def encode_header(header: Header) -> bytes:
    """MessagePack of a header."""
    return _header_encoder.encode(header)


def decode_header(frame: Buffer) -> Header:
    """Decode and check a header frame (version first, so another major gets a clear error)."""
    try:
        header = _header_decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raw = _raw_or_none(frame)
        if isinstance(raw, dict) and "v" in raw:
            check_version(raw["v"])
        raise DecodeError(f"bad header: {exc}") from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"header is not MessagePack: {exc}") from exc
    check_version(header.v)
    return header


def _raw_or_none(frame: Buffer) -> object:
    try:
        return msgspec.msgpack.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def pack(
    topic: str, header: Header, body: Message | Buffer, blobs: Sequence[Buffer] = ()
) -> list[Buffer]:
    """The frames of one message. ``body`` may be a Message or already-encoded bytes."""
    encoded = messages.encode(body) if isinstance(body, Message) else body
    return [topic.encode(), encode_header(header), encoded, *blobs]


def unpack(frames: Sequence[Buffer]) -> Envelope:
    """Parse the frames of one message.

    Raises
    ------
    FramingError
        Fewer than three frames, or a topic that is not UTF-8.
    VersionMismatch
        The header names another major version.
    DecodeError
        The header is not a valid header map.
    """
    if len(frames) < 3:
        raise FramingError(f"expected [topic, header, body, *blobs], got {len(frames)} frame(s)")
    try:
        topic = bytes(frames[0]).decode()
    except UnicodeDecodeError as exc:
        raise FramingError("topic frame is not UTF-8") from exc
    header = decode_header(frames[1])
    return Envelope(
        topic=topic,
        header=header,
        body=bytes(frames[2]),
        blobs=tuple(bytes(b) for b in frames[3:]),
    )
